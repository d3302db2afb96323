/**
 * The HTTP API as the web app calls it (CONTRACT.md "HTTP API"): one typed request function and
 * the response shapes the pages use. Socket traffic goes through the client library instead.
 */
import type { EventEnvelope } from '../../../libs/client/src/index';
import { parseJson, responseError } from '../../../libs/client/src/http-api';

/** An error answer of the API (`{error: {code, message}}`), or a network failure (`network`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Role = 'user' | 'admin';
export interface User {
  id: string;
  username: string;
  role: Role;
}
export interface AuthResult {
  token: string;
  user: User;
}
export type Visibility = 'public' | 'private';
export type MemberRole = 'owner' | 'moderator' | 'member';
export interface Room {
  id: string;
  name: string;
  visibility: Visibility;
  createdAt: string;
  createdBy: string;
  headSeq?: number;
}
export interface RoomListEntry {
  id: string;
  name: string;
  visibility: Visibility;
  role: MemberRole;
  headSeq: number;
  lastEvent: string | null;
  unread: number;
  lastReadSeq: number;
}
export interface Member {
  id: string;
  username: string;
  role: MemberRole;
  mutedUntil: string | null;
}
export interface RoomSearchHit {
  seq: number;
  ts: string;
  actor: { id: string; username: string } | null;
  text: string;
  replyTo?: number | null;
}
export interface SearchHit extends RoomSearchHit {
  roomId: string;
  roomName: string;
}
export interface EventsPage {
  events: EventEnvelope[];
  headSeq: number;
}
export type GatewayStatus = 'active' | 'draining' | 'gone';
export interface GatewayInfo {
  id: string;
  url: string;
  status: GatewayStatus;
  rooms: number;
  connections: number;
  lastSeenAt: string;
}
export interface AdminRoom {
  /** The API's admin view of a room has no visibility (apps/api/src/admin/admin.service.ts). */
  room: Pick<Room, 'id' | 'name' | 'createdAt' | 'createdBy'>;
  headSeq: number;
  owner: { gatewayId: string; epoch: number } | null;
  snapshot: { seq: number; createdAt: string; bytes: number } | null;
}
export type ExportStatus = 'queued' | 'running' | 'done' | 'failed';
export interface ExportInfo {
  id: string;
  roomId: string;
  status: ExportStatus;
  events?: number;
  bytes?: number;
  createdAt?: string;
  finishedAt?: string | null;
}

/**
 * Calls the API on this page's origin with the session's token; a 401 to a request that carried
 * a token calls `onUnauthorized` with that token (the session expired or was revoked).
 */
export class Api {
  constructor(
    private readonly token: () => string | null,
    private readonly onUnauthorized: (token: string) => void,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = this.token();
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new ApiError(0, 'network', `the server did not answer (${(err as Error).message})`);
    }
    const parsed = parseJson(await res.text());
    if (!res.ok) {
      const { code, message } = responseError(res.status, res.statusText, parsed);
      if (res.status === 401 && token) this.onUnauthorized(token);
      throw new ApiError(res.status, code, message);
    }
    return parsed as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }
}

/** `encodeURIComponent` for one path segment (room and export ids from users or links). */
export const seg = (value: string): string => encodeURIComponent(value);
