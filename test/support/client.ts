import { randomBytes } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, EventEnvelope, ServerToClientEvents } from '../../libs/domain/src';

export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface HttpResult<T = any> {
  status: number;
  body: T;
}

export interface TestUser {
  token: string;
  user: { id: string; username: string; role: string };
}

export interface ConnectionInfo {
  roomId: string;
  gatewayId: string;
  url: string;
  ticket: string;
  expiresAt: string;
}

/** The HTTP API as a user's client sees it. */
export class ApiClient {
  constructor(readonly baseUrl: string) {}

  async request<T = any>(method: string, path: string, options: { body?: unknown; token?: string; raw?: string } = {}): Promise<HttpResult<T>> {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // leave as text
    }
    return { status: res.status, body: parsed as T };
  }

  async register(prefix = 'user'): Promise<TestUser> {
    const username = `${prefix}_${randomBytes(5).toString('hex')}`.slice(0, 32);
    const res = await this.request<TestUser>('POST', '/auth/register', { body: { username, password: 'correct-horse-battery' } });
    if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async login(username: string, password: string): Promise<TestUser> {
    const res = await this.request<TestUser>('POST', '/auth/login', { body: { username, password } });
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async createRoom(token: string, name = 'room'): Promise<{ id: string; name: string }> {
    const res = await this.request('POST', '/rooms', { body: { name }, token });
    if (res.status !== 201) throw new Error(`create room failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.room;
  }

  async connection(token: string, roomId: string): Promise<ConnectionInfo> {
    const res = await this.request<ConnectionInfo>('POST', `/rooms/${roomId}/connection`, { token });
    if (res.status !== 200) throw new Error(`connection failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** Every event of a room, paging over HTTP. */
  async allEvents(token: string, roomId: string): Promise<EventEnvelope[]> {
    const events: EventEnvelope[] = [];
    let after = 0;
    for (;;) {
      const res = await this.request<{ events: EventEnvelope[]; headSeq: number }>('GET', `/rooms/${roomId}/events?after=${after}&limit=500`, { token });
      if (res.status !== 200) throw new Error(`history failed: ${res.status} ${JSON.stringify(res.body)}`);
      events.push(...res.body.events);
      if (res.body.events.length < 500) return events;
      after = res.body.events[res.body.events.length - 1]!.seq;
    }
  }
}

/** Opens a socket with a ticket; resolves when connected, rejects with the connect_error message. */
export function openSocket(url: string, ticket: string): Promise<ChatSocket> {
  return new Promise((resolve, reject) => {
    const socket: ChatSocket = io(url, { auth: { ticket }, transports: ['websocket'], reconnection: false, forceNew: true, timeout: 5000 });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(new Error(err.message));
    });
  });
}

/** A user connected to one room, recording every `room:event` it receives. */
export class RoomMember {
  readonly events: EventEnvelope[] = [];
  readonly presence: Array<{ users: Array<{ id: string; username: string }> }> = [];

  private constructor(
    readonly user: TestUser,
    readonly socket: ChatSocket,
  ) {
    socket.on('room:event', (event) => this.events.push(event));
    socket.on('room:presence', (p) => this.presence.push(p));
  }

  static async enter(api: ApiClient, user: TestUser, roomId: string): Promise<RoomMember> {
    const info = await api.connection(user.token, roomId);
    const member = new RoomMember(user, await openSocket(info.url, info.ticket));
    const ack = await member.socket.timeout(10_000).emitWithAck('room:join', {});
    if (!ack.ok) throw new Error(`join failed: ${JSON.stringify(ack)}`);
    return member;
  }

  send(clientMsgId: string, text: string) {
    return this.socket.timeout(20_000).emitWithAck('message:send', { clientMsgId, text });
  }

  close(): void {
    this.socket.close();
  }
}
