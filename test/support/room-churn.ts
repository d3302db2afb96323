/**
 * Room churn as users cause it, for the soak (bench and e2e): a room is created, entered
 * (`POST /rooms/:id/connection`, Socket.IO with the ticket, `room:join`), used for a few
 * messages and left, so the gateway loads it and later unloads it. Optionally a hostile user
 * sends the payloads the contract calls `invalid` into the same room while it is in use.
 */
import { performance } from 'node:perf_hooks';
import type { AckError, CommitAck } from '../../libs/domain/src';
import { type ApiClient, type ChatSocket, type ConnectionInfo, openSocket, type TestUser } from './client';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface Entered {
  socket: ChatSocket;
  gatewayId: string;
}

/**
 * Ask the API for the room's gateway, connect with the ticket, join. A 503, a refused handshake
 * or a failed join is retried with backoff (50 ms doubling to 1 s) until `deadlineMs` passed.
 */
export async function enterRoom(api: ApiClient, user: TestUser, roomId: string, deadlineMs = 30_000): Promise<Entered> {
  const deadline = performance.now() + deadlineMs;
  for (let backoff = 50; ; backoff = Math.min(backoff * 2, 1_000)) {
    let socket: ChatSocket | undefined;
    try {
      const res = await api.request<ConnectionInfo>('POST', `/rooms/${roomId}/connection`, { token: user.token });
      if (res.status !== 200) throw new Error(`POST /rooms/${roomId}/connection: ${res.status} ${JSON.stringify(res.body)}`);
      socket = await openSocket(res.body.url, res.body.ticket);
      const ack = await socket.timeout(15_000).emitWithAck('room:join', {});
      if (!ack.ok) throw new Error(`room:join: ${ack.error.code} ${ack.error.message}`);
      return { socket, gatewayId: res.body.gatewayId };
    } catch (err) {
      socket?.close();
      if (performance.now() + backoff > deadline) throw new Error(`could not enter room ${roomId}: ${(err as Error).message}`);
      await sleep(backoff);
    }
  }
}

export interface ChurnOptions {
  /** clientMsgId prefix, unique per run (ids are `<prefix>-<index>-<n>`). */
  prefix: string;
  /** Messages sent one after another (each after the previous ack). Default 5. */
  messages?: number;
  /** Told of every ok ack of a message: how long that attempt took (ms). */
  onAck?: (ms: number) => void;
  /** Run while the messages are sent (after the join), e.g. a hostile sender in the same room. */
  alongside?: (roomId: string) => Promise<void>;
}

export interface ChurnedRoom {
  roomId: string;
  gatewayId: string;
  acked: Array<{ clientMsgId: string; seq: number }>;
  /** Sends answered `unavailable` or not answered in time, then sent again with the same clientMsgId. */
  resent: number;
}

/** Attempts per message: an `unavailable` ack or a timeout is resent, as the client library does. */
const SEND_ATTEMPTS = 6;

async function sendOnce(socket: ChatSocket, clientMsgId: string, text: string, onAck?: (ms: number) => void): Promise<{ seq: number; resent: number }> {
  let lastError = '';
  for (let attempt = 1, backoff = 100; attempt <= SEND_ATTEMPTS; attempt++, backoff *= 2) {
    const sentAt = performance.now();
    let ack: CommitAck | AckError;
    try {
      ack = await socket.timeout(20_000).emitWithAck('message:send', { clientMsgId, text });
    } catch {
      lastError = 'timeout';
      continue;
    }
    if (ack.ok) {
      onAck?.(performance.now() - sentAt);
      return { seq: ack.seq, resent: attempt - 1 };
    }
    lastError = `${ack.error.code} ${ack.error.message}`;
    if (ack.error.code !== 'unavailable') break;
    await sleep(backoff);
  }
  throw new Error(`message:send ${clientMsgId}: ${lastError}`);
}

/** Creates a room as `user`, enters it, sends `messages` messages, and disconnects. */
export async function churnRoom(api: ApiClient, user: TestUser, index: number, o: ChurnOptions): Promise<ChurnedRoom> {
  const room = await api.createRoom(user.token, `soak ${index}`);
  const { socket, gatewayId } = await enterRoom(api, user, room.id);
  try {
    const sends = (async () => {
      const acked: ChurnedRoom['acked'] = [];
      let resent = 0;
      for (let n = 0; n < (o.messages ?? 5); n++) {
        const clientMsgId = `${o.prefix}-${index}-${n}`;
        const result = await sendOnce(socket, clientMsgId, `soak room ${index} message ${n}`, o.onAck);
        acked.push({ clientMsgId, seq: result.seq });
        resent += result.resent;
      }
      return { acked, resent };
    })();
    const [{ acked, resent }] = await Promise.all([sends, o.alongside?.(room.id)]);
    return { roomId: room.id, gatewayId, acked, resent };
  } finally {
    socket.close();
  }
}

/**
 * `message:send` payloads the contract answers `invalid` (CONTRACT.md: valid Unicode without
 * U+0000, lengths, shapes). Lone surrogates survive the trip: socket.io's JSON.stringify escapes
 * them and the gateway's JSON.parse restores them.
 */
export const HOSTILE_SENDS: ReadonlyArray<readonly [string, (id: string) => unknown]> = [
  ['U+0000 in text', (id) => ({ clientMsgId: id, text: 'null \u0000 byte' })],
  ['lone high surrogate in text', (id) => ({ clientMsgId: id, text: 'lone \ud800 high' })],
  ['lone low surrogate in text', (id) => ({ clientMsgId: id, text: '\udc00 lone low' })],
  ['U+0000 in clientMsgId', (id) => ({ clientMsgId: `${id}\u0000`, text: 'looks fine' })],
  ['lone surrogate in clientMsgId', (id) => ({ clientMsgId: `${id}\ud800`, text: 'looks fine' })],
  ['text over 4000 chars', (id) => ({ clientMsgId: id, text: 'x'.repeat(5_000) })],
  ['a string payload', () => 'just a string'],
  ['a number for text', (id) => ({ clientMsgId: id, text: 12 })],
  ['an unknown field', (id) => ({ clientMsgId: id, text: 'hi', author: 'someone else' })],
];

/** A packet beyond the gateway's 64 KiB Socket.IO cap: the socket is closed, nothing answers. */
const OVERSIZED_TEXT_CHARS = 100_000;

export interface HostileOutcome {
  what: string;
  /** The ack's error code, `ok` when accepted, `timeout` without an answer, `disconnected` when the socket was closed. */
  code: string;
}

/**
 * A hostile user in `roomId`: every HOSTILE_SENDS payload (one at a time), then one oversized
 * packet, which ends its socket. Reports what each got; never throws for an answer.
 */
export async function sendHostile(api: ApiClient, user: TestUser, roomId: string, prefix: string): Promise<HostileOutcome[]> {
  const { socket } = await enterRoom(api, user, roomId);
  const raw = socket as unknown as { timeout(ms: number): { emitWithAck(event: string, payload: unknown): Promise<CommitAck | AckError> } };
  const outcomes: HostileOutcome[] = [];
  try {
    for (const [i, [what, payload]] of HOSTILE_SENDS.entries()) {
      try {
        const ack = await raw.timeout(10_000).emitWithAck('message:send', payload(`${prefix}-${i}`));
        outcomes.push({ what, code: ack.ok ? 'ok' : ack.error.code });
      } catch {
        outcomes.push({ what, code: socket.connected ? 'timeout' : 'disconnected' });
      }
    }
    const closed = new Promise<string>((resolve) => socket.once('disconnect', () => resolve('disconnected')));
    const answered = raw
      .timeout(10_000)
      .emitWithAck('message:send', { clientMsgId: `${prefix}-big`, text: 'x'.repeat(OVERSIZED_TEXT_CHARS) })
      .then((ack) => (ack.ok ? 'ok' : ack.error.code))
      .catch(() => (socket.connected ? 'timeout' : 'disconnected'));
    outcomes.push({ what: 'packet over 64 KiB', code: await Promise.race([closed, answered]) });
  } finally {
    socket.close();
  }
  return outcomes;
}
