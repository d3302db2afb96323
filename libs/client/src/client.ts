import { io } from 'socket.io-client';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { ClientError } from './client-error.js';
import { HttpApi, type FetchLike } from './http-api.js';
import { Outbox, defaultOutboxStorage, type OutboxStorage } from './outbox.js';
import { RoomHandle, type OpenSocket, type RoomHandleOptions } from './room-handle.js';
import type { WireSocket } from './wire.js';

export interface ClientOptions {
  /** The API's origin, e.g. `http://127.0.0.1:3000` (no trailing path). */
  baseUrl: string;
  /** An access token from `POST /auth/register` or `/auth/login`. */
  token: string;
  /**
   * Where unacknowledged messages wait. Default: `localStorage` when the platform has one,
   * else memory. `new WebStorageOutboxStorage(storage)` takes any Storage-like object.
   */
  outbox?: OutboxStorage;
  /** At most this many unacknowledged messages per room (default 500). */
  maxOutbox?: number;
  /** An ack slower than this counts as a lost connection for sends; fails other commands. Default 10000 ms. */
  ackTimeoutMs?: number;
  /** One gateway handshake, ms. Default 5000. */
  connectTimeoutMs?: number;
  /** One HTTP request, ms. Default 10000. */
  httpTimeoutMs?: number;
  /** Reconnect backoff: first delay and cap, ms (default 100 and 5000, jittered). */
  backoff?: BackoffOptions;
  /** `state` turns `offline` after this long without a connection, ms. Default 30000. */
  offlineAfterMs?: number;
  /** Events held ahead of a gap at most, per room (default 2000). */
  maxBufferedEvents?: number;
  /** `fetch` to use (default the global one; Node 20+ and browsers have it). */
  fetch?: FetchLike;
}

export interface Client {
  /** The handle of one room (the same open handle for the same id until it is closed). */
  room(roomId: string): RoomHandle;
  /** Replaces the access token (a refreshed one); used from the next request on. */
  setToken(token: string): void;
  /** Closes every room handle. */
  close(): void;
}

/**
 * Creates a client of the chat service. See README "Client library" for a walk-through.
 *
 * ```ts
 * const client = createClient({ baseUrl, token });
 * const room = client.room(roomId);
 * room.on('event', (e) => render(e));
 * await room.join();
 * const { seq } = await room.send('hello');
 * ```
 */
export function createClient(options: ClientOptions): Client {
  if (typeof options?.baseUrl !== 'string' || !/^https?:\/\//.test(options.baseUrl)) {
    throw new ClientError('invalid', 'createClient: baseUrl must be an http(s) URL');
  }
  if (typeof options.token !== 'string' || options.token === '') throw new ClientError('invalid', 'createClient: token is required');
  let token = options.token;
  // Bound: a browser's fetch called as a method of another object throws "Illegal invocation"
  // (Node's does not mind, which is why only the web app found this).
  const globalFetch = globalThis.fetch as unknown as FetchLike | undefined;
  const fetchImpl = options.fetch ?? (globalFetch ? globalFetch.bind(globalThis) : undefined);
  if (!fetchImpl) throw new ClientError('invalid', 'createClient: no fetch on this platform; pass options.fetch');
  const http = new HttpApi(options.baseUrl.replace(/\/+$/, ''), () => token, fetchImpl, options.httpTimeoutMs ?? 10_000);
  const storage = options.outbox ?? defaultOutboxStorage();
  const handleOptions: RoomHandleOptions = {
    ackTimeoutMs: options.ackTimeoutMs ?? 10_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    offlineAfterMs: options.offlineAfterMs ?? 30_000,
    maxBufferedEvents: options.maxBufferedEvents ?? 2_000,
    catchUpPageSize: 500,
  };
  const handles = new Map<string, RoomHandle>();

  return {
    room(roomId: string): RoomHandle {
      if (typeof roomId !== 'string' || roomId === '') throw new ClientError('invalid', 'room: roomId is required');
      const open = handles.get(roomId);
      if (open) return open;
      // One outbox per user and room: a shared browser profile must not resend another
      // account's messages under this token.
      const outbox = new Outbox(storage, `${userIdOf(token)}:${roomId}`, options.maxOutbox ?? 500);
      const handle = new RoomHandle(roomId, http, openSocket, outbox, handleOptions, () => {
        if (handles.get(roomId) === handle) handles.delete(roomId);
      });
      handles.set(roomId, handle);
      return handle;
    },
    setToken(next: string): void {
      if (typeof next !== 'string' || next === '') throw new ClientError('invalid', 'setToken: token is required');
      token = next;
    },
    close(): void {
      for (const handle of [...handles.values()]) handle.close();
    },
  };
}

/**
 * Opens a Socket.IO connection to one gateway with a ticket. Socket.IO's own reconnection is off:
 * a ticket is bound to one gateway and expires, so reconnecting is the recipe's job (through the
 * API). Rejects on `connect_error` with the server's reason (`unauthorized`, `room_moved`, ...).
 */
const openSocket: OpenSocket = (url, ticket, timeoutMs) =>
  new Promise<WireSocket>((resolve, reject) => {
    const socket: WireSocket = io(url, { auth: { ticket }, transports: ['websocket'], reconnection: false, forceNew: true, timeout: timeoutMs });
    const timer = setTimeout(() => fail(new ClientError('timeout', `handshake with ${url}: no answer within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: ClientError) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.disconnect();
      reject(err);
    };
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners();
      resolve(socket);
    });
    // A refused handshake is never final by itself: an expired ticket or a moved room both mean
    // "ask the API again", and the API answers 403/404 when the user really may not come in.
    socket.once('connect_error', (err) => fail(new ClientError(err.message === 'room_moved' ? 'room_moved' : 'unavailable', `handshake with ${url} refused: ${err.message}`)));
  });

/** The `sub` claim of a JWT, read without verifying (it only names the outbox). */
function userIdOf(token: string): string {
  try {
    const payload = token.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return typeof sub === 'string' && sub ? sub : 'anonymous';
  } catch {
    return 'anonymous';
  }
}
