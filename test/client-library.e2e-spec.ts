/**
 * Issue 12, acceptance 1 and 2, from Node: the client library (libs/client) against the real
 * stack (API and two gateways from dist/, real Postgres, Redis and S3 server). Nothing of the
 * recipe is re-implemented here: the handles under test are the library's own.
 */
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import type { EventEnvelope } from '../libs/domain/src';
import { ClientError, createClient, WebStorageOutboxStorage, type Client, type ConnectionState, type RoomHandle, type StorageLike } from '../libs/client/src';
import { ApiClient, openSocket, type TestUser } from './support/client';
import { fillRoomLog } from './support/bulk-log';
import { logOf, makeAdmin, sleep, waitForGatewayStatus } from './support/fault';
import { baseEnv, waitFor } from './support/processes';
import { TestStack } from './support/stack';

jest.setTimeout(120_000);

/** What one handle saw: every delivered event and every state change, in order. */
interface Recorder {
  room: RoomHandle;
  events: EventEnvelope[];
  states: ConnectionState[];
  errors: ClientError[];
}

function record(room: RoomHandle): Recorder {
  const r: Recorder = { room, events: [], states: [], errors: [] };
  room.on('event', (e) => r.events.push(e));
  room.on('state', (s) => r.states.push(s));
  room.on('error', (e) => r.errors.push(e));
  return r;
}

/** A fake `localStorage` (a test double of a browser API): the outbox's storage across a "reload". */
class FakeStorage implements StorageLike {
  readonly items = new Map<string, string>();
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
}

const ascending = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('client library (e2e)', () => {
  let stack: TestStack;
  let api: ApiClient;
  let pool: Pool;
  let admin: TestUser;
  const clients: Client[] = [];

  beforeAll(async () => {
    stack = await TestStack.start({ name: 'client-lib', gateways: 2, env: { RATE_LIMIT_MSG_PER_SEC: '0' } });
    api = new ApiClient(stack.apiUrl);
    pool = new Pool({ connectionString: baseEnv().DATABASE_URL, max: 3 });
    admin = await makeAdmin(stack, api);
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) c.close();
    await pool?.end();
    await stack?.stop();
  });

  function client(user: TestUser, options: Partial<Parameters<typeof createClient>[0]> = {}): Client {
    const c = createClient({ baseUrl: stack.apiUrl, token: user.token, ...options });
    clients.push(c);
    return c;
  }

  async function bothGatewaysUp(): Promise<void> {
    for (const gw of stack.gateways) {
      if (!gw.proc.running) await stack.startGateway(gw.id);
      await waitForGatewayStatus(api, admin, gw.id, 'active');
    }
  }

  async function rowAt(roomId: string, seq: number) {
    const { rows } = await pool.query<{ seq: number; type: string; client_msg_id: string | null; text: string | null }>(
      `SELECT seq, type, client_msg_id, data->>'text' AS text FROM room_events WHERE room_id = $1 AND seq = $2`,
      [roomId, seq],
    );
    return rows[0];
  }

  it('acceptance 1: joins and sends from Node; send resolves only once the row is in Postgres; a second handle receives each event once', async () => {
    await bothGatewaysUp();
    const [alice, bob] = await Promise.all([api.register('lib_alice'), api.register('lib_bob')]);
    const room = await api.createRoom(alice!.token, 'library acceptance 1');
    const a = record(client(alice!).room(room.id));
    const b = record(client(bob!).room(room.id));
    const joinedA = await a.room.join({ afterSeq: 0 });
    await b.room.join({ afterSeq: 0 });
    expect(joinedA.room).toMatchObject({ id: room.id, name: 'library acceptance 1' });
    expect(a.room.state).toBe('connected');
    expect(b.room.state).toBe('connected');
    expect(a.states).toEqual(['connecting', 'connected']);

    const sent: Array<{ seq: number; clientMsgId: string; text: string }> = [];
    for (let i = 0; i < 20; i++) {
      const text = `hello ${i}`;
      const result = await a.room.send(text);
      // Checked in the same turn as the resolution: the event is already committed.
      const row = await rowAt(room.id, result.seq);
      expect(row).toEqual({ seq: result.seq, type: 'message.posted', client_msg_id: result.clientMsgId, text });
      sent.push({ seq: result.seq, clientMsgId: result.clientMsgId, text });
    }
    // Edit and delete through the library too; the others see them as events.
    const edited = await a.room.edit(sent[3]!.seq, 'hello 3, edited');
    const deleted = await a.room.delete(sent[4]!.seq);
    expect(await rowAt(room.id, edited.seq)).toMatchObject({ type: 'message.edited', text: 'hello 3, edited' });
    expect(await rowAt(room.id, deleted.seq)).toMatchObject({ type: 'message.deleted' });
    const log0 = await logOf(pool, room.id);
    const head = log0[log0.length - 1]!.seq;
    await waitFor('both handles caught up', async () => a.room.lastSeq >= head && b.room.lastSeq >= head, 15_000);

    const log = await logOf(pool, room.id);
    for (const r of [a, b]) {
      // Each event once, in seq order, exactly the log.
      expect(r.events.map((e) => e.seq)).toEqual(ascending(1, log.length));
      expect(r.events.map((e) => [e.seq, e.type, e.clientMsgId ?? null])).toEqual(log.map((row) => [row.seq, row.type, row.client_msg_id]));
      expect(r.errors).toEqual([]);
    }
    expect(b.events.filter((e) => e.type === 'message.posted').map((e) => (e.data as { text: string }).text)).toEqual(sent.map((s) => s.text));
    expect(a.room.pending()).toEqual([]);

    // A handle joined without afterSeq starts at the latest page and then follows live events.
    const late = record(client(bob!).room(room.id)); // a second client of Bob's: its own handle
    expect(late.room).not.toBe(b.room);
    await late.room.join();
    const more = await a.room.send('after the late join');
    await waitFor('late handle has the new message', async () => late.room.lastSeq >= more.seq, 15_000);
    const lateSeqs = late.events.map((e) => e.seq);
    expect(lateSeqs).toEqual(ascending(lateSeqs[0]!, more.seq));
    expect(lateSeqs[0]).toBe(Math.max(1, more.seq - 50)); // the latest 50 at join time, then live
  });

  it('a handle joining 1,500 events behind while others chat gets each event once, in order (join backlog, HTTP pages and live events overlap)', async () => {
    await bothGatewaysUp();
    const [gina, hal] = await Promise.all([api.register('far_gina'), api.register('far_hal')]);
    const room = await api.createRoom(gina!.token, 'far behind');
    await fillRoomLog(pool, room.id, gina!, 1_500);
    const writer = record(client(gina!).room(room.id));
    await writer.room.join();
    let chatting = true;
    const chat = (async () => {
      for (let i = 0; chatting || i < 10; i++) {
        await writer.room.send(`live ${i}`);
        await sleep(5);
      }
    })();
    await sleep(50);
    const reader = record(client(hal!).room(room.id));
    await reader.room.join({ afterSeq: 0 });
    chatting = false;
    await chat;
    const log = await logOf(pool, room.id);
    await waitFor('the reader caught up', async () => reader.room.lastSeq >= log.length, 20_000);
    expect(reader.events.map((e) => e.seq)).toEqual(ascending(1, log.length));
    expect(reader.events.map((e) => e.clientMsgId ?? null)).toEqual(log.map((row) => row.client_msg_id));
    expect(reader.errors).toEqual([]);
  });

  it('final errors are final: an unknown room rejects join with not_found, an invalid send is rejected once and leaves the outbox', async () => {
    await bothGatewaysUp();
    const carol = await api.register('lib_carol');
    const ghost = record(client(carol).room(randomUUID()));
    await expect(ghost.room.join()).rejects.toMatchObject({ code: 'not_found' });
    expect(ghost.room.state).toBe('offline');

    const room = await api.createRoom(carol.token, 'final errors');
    const r = record(client(carol).room(room.id));
    await r.room.join({ afterSeq: 0 });
    await expect(r.room.send('')).rejects.toMatchObject({ code: 'invalid' });
    await expect(r.room.send('x'.repeat(4001))).rejects.toMatchObject({ code: 'invalid' });
    expect(r.room.pending()).toEqual([]);
    const ok = await r.room.send('still fine');
    expect(r.room.state).toBe('connected');
    const log = await logOf(pool, room.id);
    expect(log.filter((row) => row.type === 'message.posted').map((row) => row.seq)).toEqual([ok.seq]);
  });

  it('one explicit clientMsgId sent twice at once: both calls resolve with the one commit', async () => {
    await bothGatewaysUp();
    const ivy = await api.register('lib_ivy');
    const room = await api.createRoom(ivy.token, 'same id twice');
    const r = client(ivy).room(room.id);
    await r.join({ afterSeq: 0 });
    const clientMsgId = `explicit-${randomUUID()}`;
    const [x, y] = await Promise.all([r.send('once', { clientMsgId }), r.send('once', { clientMsgId })]);
    expect(y).toEqual(x);
    const log = await logOf(pool, room.id);
    expect(log.filter((row) => row.client_msg_id === clientMsgId).map((row) => row.seq)).toEqual([x.seq]);
    expect(r.pending()).toEqual([]);
  });

  it('commands awaiting server support surface exactly what the server answers (compared with a raw socket)', async () => {
    await bothGatewaysUp();
    const dave = await api.register('lib_dave');
    const room = await api.createRoom(dave.token, 'pending commands');
    const lib = client(dave, { ackTimeoutMs: 2_000 }).room(room.id);
    await lib.join({ afterSeq: 0 });
    const first = await lib.send('target');

    const info = await api.connection(dave.token, room.id);
    const raw = await openSocket(info.url, info.ticket);
    try {
      expect(await raw.timeout(5_000).emitWithAck('room:join', {})).toMatchObject({ ok: true });
      const rawAnswer = async (event: string, payload: object) => {
        try {
          return await (raw.timeout(2_000) as any).emitWithAck(event, payload);
        } catch {
          return 'no answer';
        }
      };
      const libAnswer = async (call: () => Promise<unknown>) => {
        try {
          return { resolved: await call() };
        } catch (err) {
          return { code: (err as ClientError).code, message: (err as ClientError).message };
        }
      };
      const cases: Array<[string, object, () => Promise<unknown>]> = [
        ['reaction:add', { seq: first.seq, emoji: '👍' }, () => lib.react(first.seq, '👍')],
        ['reaction:remove', { seq: first.seq, emoji: '👍' }, () => lib.unreact(first.seq, '👍')],
        ['typing', { active: true }, () => lib.typing(true)],
        ['read:mark', { seq: first.seq }, () => lib.markRead(first.seq)],
        ['message:send', { clientMsgId: `reply-${randomUUID()}`, text: 'a reply', replyTo: first.seq }, () => lib.send('a reply', { replyTo: first.seq })],
      ];
      for (const [event, payload, call] of cases) {
        const server = await rawAnswer(event, payload);
        const mine = await libAnswer(call);
        if (server === 'no answer') expect([event, mine]).toEqual([event, expect.objectContaining({ code: 'timeout' })]);
        else if (server.ok === false) expect([event, mine]).toEqual([event, { code: server.error.code, message: server.error.message }]);
        // `typing` resolves with nothing (Promise<void>); the others with the committed result.
        else expect([event, mine]).toEqual([event, { resolved: event === 'typing' ? undefined : expect.anything() }]);
      }
      // read:mark is served: the library resolves the marker as stored, which never moves back.
      expect(await lib.markRead(first.seq)).toEqual({ lastReadSeq: first.seq });
      expect(await lib.markRead(Math.max(0, first.seq - 1))).toEqual({ lastReadSeq: first.seq });
    } finally {
      raw.close();
    }
    // None of it broke the handle.
    expect(lib.state).toBe('connected');
    expect((await lib.send('after the probes')).seq).toBeGreaterThan(first.seq);
  });

  it('acceptance 2: two handles keep chatting across kill -9 of the owner; a send during the outage resolves once; each sees every message once, in order; state goes reconnecting and back to connected', async () => {
    await bothGatewaysUp();
    const [alice, bob] = await Promise.all([api.register('kill_alice'), api.register('kill_bob')]);
    const room = await api.createRoom(alice!.token, 'library acceptance 2');
    const a = record(client(alice!).room(room.id));
    const b = record(client(bob!).room(room.id));
    const sentEvents = new Map<string, number>();
    a.room.on('sent', (s) => sentEvents.set(s.clientMsgId, (sentEvents.get(s.clientMsgId) ?? 0) + 1));
    await a.room.join({ afterSeq: 0 });
    await b.room.join({ afterSeq: 0 });
    const owner = a.room.gatewayId!;
    expect(b.room.gatewayId).toBe(owner);
    const survivor = stack.gateways.find((g) => g.id !== owner)!.id;

    // Both chat continuously, one message in flight each at any time, through the kill.
    const acks: Array<{ who: string; clientMsgId: string; seq: number }> = [];
    let stop = false;
    const chatter = async (r: Recorder, who: string, count: number) => {
      for (let i = 0; i < count && !stop; i++) {
        const res = await r.room.send(`${who} ${i}`);
        acks.push({ who, clientMsgId: res.clientMsgId, seq: res.seq });
        await sleep(20);
      }
    };
    const chatting = Promise.all([chatter(a, 'alice', 60), chatter(b, 'bob', 60)]);
    await waitFor('some messages before the kill', async () => acks.length >= 20, 30_000);
    await stack.killGateway(owner);
    await waitFor('the handles notice the outage', async () => a.room.state !== 'connected' && b.room.state !== 'connected', 10_000);

    // A send made during the outage.
    const duringState = a.room.state;
    const during = await a.room.send('sent during the outage');
    await chatting;
    stop = true;

    try {
      expect(['reconnecting', 'moving', 'offline']).toContain(duringState);
      const log = await logOf(pool, room.id);
      // The outage send: committed once, resolved once, at its seq.
      expect(log.filter((row) => row.client_msg_id === during.clientMsgId).map((row) => row.seq)).toEqual([during.seq]);
      expect(sentEvents.get(during.clientMsgId)).toBe(1);
      // Every chat message once in the log, each at its acknowledged seq.
      expect(acks).toHaveLength(120);
      for (const ack of acks) expect(log.filter((row) => row.client_msg_id === ack.clientMsgId).map((row) => row.seq)).toEqual([ack.seq]);
      expect(log.map((row) => row.seq)).toEqual(ascending(1, log.length));

      const head = log.length;
      await waitFor('both handles caught up', async () => a.room.lastSeq >= head && b.room.lastSeq >= head, 20_000);
      for (const r of [a, b]) {
        expect(r.events.map((e) => e.seq)).toEqual(ascending(1, head));
        expect(r.events.map((e) => [e.seq, e.clientMsgId ?? null])).toEqual(log.map((row) => [row.seq, row.client_msg_id]));
        // The state machine: connecting, connected, then lost, then connected again, ending connected.
        expect(r.states.slice(0, 2)).toEqual(['connecting', 'connected']);
        const lost = r.states.indexOf('reconnecting', 2);
        expect(lost).toBeGreaterThan(1);
        expect(r.states.slice(lost)).toContain('connected');
        expect(r.room.state).toBe('connected');
        expect(r.room.gatewayId).toBe(survivor);
        expect(r.room.pending()).toEqual([]);
      }
      // Bob's view of Alice's messages: her sends in the order she made them.
      const alicesInLog = log.filter((row) => row.actor_id === alice!.user.id && row.type === 'message.posted').map((row) => row.seq);
      expect(b.events.filter((e) => e.actor?.id === alice!.user.id && e.type === 'message.posted').map((e) => e.seq)).toEqual(alicesInLog);
    } catch (err) {
      console.log(stack.logs());
      throw err;
    }
  });

  it('a message sent just before a reload is delivered once (outbox over a Storage-like object)', async () => {
    await bothGatewaysUp();
    const [erin, frank] = await Promise.all([api.register('reload_erin'), api.register('reload_frank')]);
    const room = await api.createRoom(erin!.token, 'reload');
    const storage = new FakeStorage();
    const watcher = record(client(frank!).room(room.id));
    await watcher.room.join({ afterSeq: 0 });

    // Page 1: one message sent on a live connection and the page "reloads" in the same turn
    // (it may or may not have reached the server); one typed while never connected.
    const page1 = client(erin!, { outbox: new WebStorageOutboxStorage(storage) }).room(room.id);
    await page1.join({ afterSeq: 0 });
    const lost1 = page1.send('typed just before the reload').catch((e: ClientError) => e.code);
    page1.close();
    const offlinePage = client(erin!, { outbox: new WebStorageOutboxStorage(storage) }).room(room.id);
    const lost2 = offlinePage.send('typed while offline').catch((e: ClientError) => e.code);
    offlinePage.close();
    expect(await lost1).toBe('closed');
    expect(await lost2).toBe('closed');
    expect(storage.items.size).toBe(1); // both wait in the stored outbox

    // Page 2: a new client over the same storage sends them on join.
    const page2 = client(erin!, { outbox: new WebStorageOutboxStorage(storage) }).room(room.id);
    const sent: string[] = [];
    page2.on('sent', (s) => sent.push(s.clientMsgId));
    expect(page2.pending().map((e) => e.text)).toEqual(['typed just before the reload', 'typed while offline']);
    await page2.join({ afterSeq: 0 });
    await waitFor('the outbox is empty', async () => page2.pending().length === 0, 15_000);
    expect(storage.items.size).toBe(0);

    const log = await logOf(pool, room.id);
    const posted = log.filter((row) => row.type === 'message.posted');
    expect(posted).toHaveLength(2);
    expect(new Set(posted.map((row) => row.client_msg_id)).size).toBe(2);
    expect(sent.sort()).toEqual(posted.map((row) => row.client_msg_id!).sort());
    await waitFor('the watcher has both', async () => watcher.room.lastSeq >= log.length, 15_000);
    expect(watcher.events.filter((e) => e.type === 'message.posted').map((e) => (e.data as { text: string }).text)).toEqual([
      'typed just before the reload',
      'typed while offline',
    ]);
  });
});
