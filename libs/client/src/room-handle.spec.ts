import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from './client.js';
import type { ClientError } from './client-error.js';
import { RoomHandle, type ConnectionState } from './room-handle.js';

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
