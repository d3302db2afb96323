import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from './client.js';
import type { ClientError } from './client-error.js';
import type { HttpApi } from './http-api.js';
import { MemoryOutboxStorage, Outbox, WebStorageOutboxStorage, type StorageLike } from './outbox.js';
import { RoomHandle, type ConnectionState, type OpenSocket } from './room-handle.js';
import type { WireSocket } from './wire.js';

/**
 * The recipe's decisions that need no gateway: which API answers are retried (with backoff) and
 * which are final, the `offline` state, and `close()` ending a retry loop. A tiny HTTP server on
 * loopback plays the API; the real stack is exercised in test/client-library.e2e-spec.ts.
 */
describe(RoomHandle.name, () => {
  let server: Server;
  let baseUrl: string;
  let answers: Array<{ status: number; code: string }>;
  let requests: number;

  beforeEach(async () => {
    answers = [];
    requests = 0;
    server = createServer((req, res) => {
      requests += 1;
      const next = answers.shift() ?? { status: 503, code: 'no_gateway' };
      res.writeHead(next.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: next.code, message: `scripted ${next.code}` } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const token = 'h.' + Buffer.from(JSON.stringify({ sub: 'user-1' })).toString('base64url') + '.s';

  it('retries 503s with backoff, then stops at a final 404 and hands out a fresh handle afterwards', async () => {
    answers = [
      { status: 503, code: 'no_gateway' },
      { status: 503, code: 'unavailable' },
      { status: 404, code: 'not_found' },
    ];
    const client = createClient({ baseUrl, token, backoff: { baseMs: 10, maxMs: 40 } });
    const room = client.room('r1');
    const states: ConnectionState[] = [];
    room.on('state', (s) => states.push(s));
    const pendingSend = room.send('never delivered');
    await expect(room.join()).rejects.toMatchObject({ code: 'not_found', status: 404 });
    await expect(pendingSend).rejects.toMatchObject({ code: 'not_found' });
    expect(requests).toBe(3);
    expect(states).toEqual(['connecting', 'offline']);
    expect(room.pending()).toEqual([]); // refused for good: it leaves the outbox
    expect(client.room('r1')).not.toBe(room);
    client.close();
  });

  it('a 401 is final but keeps the unsent messages for a client with a fresh token', async () => {
    answers = [{ status: 401, code: 'unauthorized' }];
    const client = createClient({ baseUrl, token });
    const room = client.room('r1');
    const send = room.send('keep me');
    await expect(room.join()).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(send).rejects.toMatchObject({ code: 'unauthorized' });
    expect(client.room('r1').pending().map((e) => e.text)).toEqual(['keep me']);
    client.close();
  });

  it('says offline after offlineAfterMs of failures, keeps trying, and close() ends the loop (join rejects closed)', async () => {
    const client = createClient({ baseUrl, token, backoff: { baseMs: 10, maxMs: 20 }, offlineAfterMs: 100 });
    const room = client.room('r1');
    const states: ConnectionState[] = [];
    room.on('state', (s) => states.push(s));
    const joined = room.join().catch((e: ClientError) => e.code);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(states).toEqual(['connecting', 'offline']);
    const before = requests;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(requests).toBeGreaterThan(before); // still retrying while offline
    client.close();
    expect(await joined).toBe('closed');
    const after = requests;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(requests).toBe(after);
  });

  it('an API that does not answer in time is retried, not final', async () => {
    const silent = createServer(() => undefined); // accepts and never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const client = createClient({ baseUrl: url, token, httpTimeoutMs: 50, backoff: { baseMs: 10, maxMs: 20 } });
    const room = client.room('r1');
    const joined = room.join().catch((e: ClientError) => e.code);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(room.state).toBe('connecting');
    client.close();
    expect(await joined).toBe('closed');
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  });

  it("calls the platform's fetch as a plain function (a browser's throws Illegal invocation otherwise)", async () => {
    const realFetch = globalThis.fetch;
    const strictFetch = function (this: unknown, input: string, init?: RequestInit) {
      if (this !== undefined && this !== globalThis) throw new TypeError("Failed to execute 'fetch' on 'Window': Illegal invocation");
      return realFetch(input, init);
    };
    globalThis.fetch = strictFetch as typeof fetch;
    try {
      answers = [{ status: 404, code: 'not_found' }];
      const client = createClient({ baseUrl, token });
      await expect(client.room('r1').join()).rejects.toMatchObject({ code: 'not_found', status: 404 });
      expect(requests).toBe(1);
      client.close();
    } finally {
      globalThis.fetch = realFetch;
    }
  });

  it('refuses nonsense options at the edge', () => {
    expect(() => createClient({ baseUrl: 'ftp://x', token })).toThrow(/baseUrl/);
    expect(() => createClient({ baseUrl, token: '' })).toThrow(/token/);
    const client = createClient({ baseUrl, token });
    expect(() => client.room('')).toThrow(/roomId/);
    return expect(client.room('r').join({ afterSeq: -1 })).rejects.toMatchObject({ code: 'invalid' });
  });
});

/**
 * `message:send` against a scripted gateway: a fake socket that answers sends like the real one
 * (idempotent on clientMsgId, a per-user token bucket answering `rate_limited`), so the order in
 * which one user's messages are committed can be checked. Timers are jest's fake ones where the
 * rate-limit retry matters; the jitter comes from an injected `random`.
 */
describe('RoomHandle sends against a scripted gateway', () => {
  type Ack = { ok: true; seq: number; ts: string } | { ok: false; error: { code: string; message: string } };
  /** clientMsgIds in the order they were emitted, across connections. */
  let emitted: string[];
  /** clientMsgIds in commit order (seq = index + 2; seq 1 is `room.created`). */
  let committed: string[];
  /** Sends the gateway still accepts before answering `rate_limited`. */
  let tokens: number;
  /** When set, acks are not answered (a slow gateway); a disconnect drops them. */
  let holdAcks: boolean;
  let sockets: Array<Map<string, (...args: any[]) => void>>;

  const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`);
  const flush = async () => {
    for (let i = 0; i < 500; i++) await Promise.resolve();
  };

  function gatewayAck(id: string): Ack {
    const ts = '2026-01-01T00:00:01.000Z';
    const at = committed.indexOf(id);
    if (at >= 0) return { ok: true, seq: at + 2, ts }; // the same clientMsgId again: the first result
    if (tokens <= 0) return { ok: false, error: { code: 'rate_limited', message: 'too many messages; slow down' } };
    tokens -= 1;
    committed.push(id);
    return { ok: true, seq: committed.length + 1, ts };
  }

  function fakeSocket(): WireSocket {
    const listeners = new Map<string, (...args: any[]) => void>();
    sockets.push(listeners);
    const socket = {
      on: (event: string, fn: (...args: any[]) => void) => {
        listeners.set(event, fn);
        return socket;
      },
      removeAllListeners: () => {
        listeners.clear();
        return socket;
      },
      disconnect: () => socket,
      timeout: () => ({
        emitWithAck: async (event: string) => {
          if (event !== 'room:join') throw new Error(`unexpected ${event}`);
          return { ok: true, room: { id: 'r1', name: 'Room', headSeq: 1 }, events: [{ roomId: 'r1', seq: 1, type: 'room.created', ts: '2026-01-01T00:00:00.000Z', actor: null, data: {} }], hasMore: false };
        },
        emit: (event: string, payload: { clientMsgId: string }, ack: (err: Error | null, answer?: Ack) => void) => {
          if (event !== 'message:send') throw new Error(`unexpected ${event}`);
          emitted.push(payload.clientMsgId);
          if (!holdAcks) void Promise.resolve().then(() => ack(null, gatewayAck(payload.clientMsgId)));
        },
      }),
    };
    return socket as unknown as WireSocket;
  }

  async function joinedRoom(options: { random?: () => number; outbox?: Outbox } = {}): Promise<RoomHandle> {
    const http = {
      connection: async () => ({ roomId: 'r1', gatewayId: 'gw-1', url: 'http://gw', ticket: 't', expiresAt: '' }),
      events: async () => ({ events: [], headSeq: 1 }),
    } as unknown as HttpApi;
    const openSocket: OpenSocket = async () => fakeSocket();
    const room = new RoomHandle('r1', http, openSocket, options.outbox ?? new Outbox(new MemoryOutboxStorage(), 'u:r1'), {
      ackTimeoutMs: 1000,
      connectTimeoutMs: 1000,
      backoff: { baseMs: 10, maxMs: 20, random: options.random },
      offlineAfterMs: 10_000,
      maxBufferedEvents: 100,
      catchUpPageSize: 500,
    });
    await room.join();
    return room;
  }

  /** Each draw smaller than the last: a timer per refused message would fire newest first. */
  const shrinkingJitter = () => {
    let r = 1;
    return () => (r = Math.max(0, r - 0.15));
  };

  beforeEach(() => {
    emitted = [];
    committed = [];
    tokens = Infinity;
    holdAcks = false;
    sockets = [];
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('25 messages, 21-25 refused rate_limited: all are committed in the order they were sent', async () => {
    jest.useFakeTimers();
    const room = await joinedRoom({ random: shrinkingJitter() });
    tokens = 20; // the burst
    const sends = ids(1, 25).map((id) => room.send(`text ${id}`, { clientMsgId: id }));
    await flush();
    expect(committed).toEqual(ids(1, 20));
    expect(room.pending().map((e) => e.clientMsgId)).toEqual(ids(21, 25));
    tokens = 2; // the first retry gets two through, then the limit answers again
    await jest.advanceTimersByTimeAsync(300);
    await flush();
    tokens = Infinity;
    await jest.advanceTimersByTimeAsync(2000);
    await flush();
    const results = await Promise.all(sends);
    expect(committed).toEqual(ids(1, 25));
    expect(results.map((r) => r.clientMsgId)).toEqual(ids(1, 25));
    expect(results.map((r) => r.seq)).toEqual(ids(1, 25).map((_, i) => i + 2)); // each send resolves its own committed seq
    // Resends go out oldest first and never skip ahead of a message still waiting.
    const resends = emitted.slice(25).map((id) => Number(id.slice(1)));
    expect(resends[0]).toBe(21);
    expect(resends).toEqual([...resends].sort((a, b) => a - b));
    // m23 was refused again on the first retry (sending stopped there): m24 and m25 went out once more, after it.
    expect(emitted.filter((id) => id === 'm23').length).toBeGreaterThanOrEqual(3);
    expect(emitted.filter((id) => id === 'm24')).toHaveLength(2);
    expect(emitted.filter((id) => id === 'm25')).toHaveLength(2);
    expect(room.pending()).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
    room.close();
  });

  it('a send made while older messages wait for a rate-limit retry goes out after them, not before', async () => {
    jest.useFakeTimers();
    const room = await joinedRoom({ random: shrinkingJitter() });
    tokens = 1;
    const first = ids(1, 3).map((id) => room.send(`text ${id}`, { clientMsgId: id }));
    await flush();
    expect(committed).toEqual(['m1']);
    const later = room.send('text m4', { clientMsgId: 'm4' });
    await flush();
    expect(emitted).toEqual(ids(1, 3)); // m4 waits in the outbox behind m2 and m3
    expect(room.pending().map((e) => e.clientMsgId)).toEqual(['m2', 'm3', 'm4']);
    tokens = Infinity;
    await jest.advanceTimersByTimeAsync(1000);
    await flush();
    await expect(Promise.all([...first, later])).resolves.toMatchObject(ids(1, 4).map((id, i) => ({ clientMsgId: id, seq: i + 2 })));
    expect(emitted).toEqual([...ids(1, 3), 'm2', 'm3', 'm4']);
    expect(committed).toEqual(ids(1, 4));
    // The hold ends with the outbox empty: the next send goes out at once.
    const next = room.send('text m5', { clientMsgId: 'm5' });
    expect(emitted[emitted.length - 1]).toBe('m5');
    await expect(next).resolves.toMatchObject({ seq: 6 });
    room.close();
  });

  it('a reconnect during a rate-limit wait drops its timer and resends every waiting message in order, same clientMsgIds', async () => {
    jest.useFakeTimers();
    const room = await joinedRoom({ random: shrinkingJitter() });
    tokens = 0;
    const sends = ids(1, 3).map((id) => room.send(`text ${id}`, { clientMsgId: id }));
    await flush();
    expect(jest.getTimerCount()).toBe(1); // one retry timer, not one per message
    tokens = Infinity;
    sockets[0]!.get('disconnect')!('transport close');
    await flush();
    expect(room.state).toBe('connected');
    expect(sockets).toHaveLength(2);
    await expect(Promise.all(sends)).resolves.toMatchObject(ids(1, 3).map((id, i) => ({ clientMsgId: id, seq: i + 2 })));
    expect(emitted).toEqual([...ids(1, 3), ...ids(1, 3)]);
    expect(jest.getTimerCount()).toBe(0); // no stale retry left to fire
    room.close();
  });

  it('close() during a rate-limit wait rejects the sends, keeps the messages, and leaves no timer', async () => {
    jest.useFakeTimers();
    const room = await joinedRoom();
    tokens = 0;
    const send = room.send('text m1', { clientMsgId: 'm1' });
    await flush();
    room.close();
    await expect(send).rejects.toMatchObject({ code: 'closed' });
    expect(jest.getTimerCount()).toBe(0);
    expect(room.pending().map((e) => e.clientMsgId)).toEqual(['m1']);
  });

  it('a message sent after localStorage filled up is resent after a reconnect and its send resolves', async () => {
    const items = new Map<string, string>();
    let quota = Infinity;
    const storage: StorageLike = {
      getItem: (key) => items.get(key) ?? null,
      setItem: (key, value) => {
        if (value.length > quota) throw new Error('QuotaExceededError');
        items.set(key, value);
      },
      removeItem: (key) => void items.delete(key),
    };
    const room = await joinedRoom({ outbox: new Outbox(new WebStorageOutboxStorage(storage), 'u:r1') });
    holdAcks = true; // neither ack comes before the connection drops
    const a = room.send('text A', { clientMsgId: 'A' });
    quota = items.get('durable-rooms.outbox.u:r1')!.length; // full: [A] stays stored, [A,B] does not fit
    const b = room.send('text B', { clientMsgId: 'B' });
    expect(room.pending().map((e) => e.clientMsgId)).toEqual(['A', 'B']);
    holdAcks = false;
    sockets[0]!.get('disconnect')!('transport close');
    await flush();
    expect(emitted).toEqual(['A', 'B', 'A', 'B']); // both resent on the new connection
    await expect(a).resolves.toMatchObject({ clientMsgId: 'A', seq: 2 });
    await expect(b).resolves.toMatchObject({ clientMsgId: 'B', seq: 3 });
    expect(room.pending()).toEqual([]);
    expect(items.size).toBe(0);
    room.close();
  });
});
