/**
 * The durable chat path end to end (issue: foundation): real API and gateway processes, real
 * Postgres and Redis, clients through socket.io-client exactly as users connect.
 */
import jwt from 'jsonwebtoken';
import { Pool } from 'pg';
import type { EventEnvelope } from '../libs/domain/src';
import { ApiClient, openSocket, RoomMember, type TestUser } from './support/client';
import { baseEnv, ManagedProcess, freePort, waitFor } from './support/processes';
import { TestStack } from './support/stack';

jest.setTimeout(120_000);

const UUID_ZERO = '00000000-0000-4000-8000-000000000000';

describe('chat path (e2e)', () => {
  let stack: TestStack;
  let api: ApiClient;
  let pool: Pool;
  let alice: TestUser;
  let bob: TestUser;
  const members: RoomMember[] = [];

  beforeAll(async () => {
    stack = await TestStack.start({ name: 'chat', gateways: 2, env: { RATE_LIMIT_MSG_PER_SEC: '0', AUTH_RATE_LIMIT_PER_MIN: '0' } });
    api = new ApiClient(stack.apiUrl);
    pool = new Pool({ connectionString: baseEnv().DATABASE_URL, max: 2 });
    [alice, bob] = await Promise.all([api.register('alice'), api.register('bob')]);
  });

  afterEach(() => {
    for (const m of members.splice(0)) m.close();
  });

  afterAll(async () => {
    await pool?.end();
    await stack?.stop();
  });

  async function roomWithMembers(...users: TestUser[]): Promise<{ roomId: string; members: RoomMember[] }> {
    const room = await api.createRoom(users[0]!.token, 'e2e room');
    const joined = [];
    for (const user of users) joined.push(await RoomMember.enter(api, user, room.id));
    members.push(...joined);
    return { roomId: room.id, members: joined };
  }

  async function logOf(roomId: string): Promise<Array<{ seq: number; type: string; client_msg_id: string | null; actor_id: string | null }>> {
    const { rows } = await pool.query('SELECT seq, type, client_msg_id, actor_id FROM room_events WHERE room_id = $1 ORDER BY seq', [roomId]);
    return rows;
  }

  it('acknowledges 50 concurrent sends with distinct gap-free seqs and delivers them in order to the other member', async () => {
    const { roomId, members: [a, b] } = await roomWithMembers(alice, bob);
    const acks = await Promise.all(Array.from({ length: 50 }, (_, i) => a!.send(`c-${i}`, `message ${i}`)));
    expect(acks.every((ack) => ack.ok)).toBe(true);
    const seqs = acks.map((ack) => (ack.ok ? ack.seq : -1)).sort((x, y) => x - y);
    // Seq 2 is bob's member.joined: his first join of the public room made him a member.
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 3));
    await waitFor('bob to receive 50 events', async () => b!.events.length >= 50, 10_000);
    expect(b!.events.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 3));
    // Each event reached bob with the text that was acknowledged at that seq.
    const bySeq = new Map(b!.events.map((e) => [e.seq, e]));
    acks.forEach((ack, i) => {
      if (!ack.ok) throw new Error('not ok');
      expect(bySeq.get(ack.seq)?.clientMsgId).toBe(`c-${i}`);
      expect((bySeq.get(ack.seq)?.data as { text: string }).text).toBe(`message ${i}`);
      expect(bySeq.get(ack.seq)?.actor).toEqual({ id: alice.user.id, username: alice.user.username });
    });
  });

  it('answers a re-sent clientMsgId with the first {seq, ts} and does not move the head', async () => {
    const { roomId, members: [a] } = await roomWithMembers(alice);
    const first = await a!.send('same-id', 'original');
    const again = await a!.send('same-id', 'a different text');
    expect(first.ok && again.ok).toBe(true);
    expect(again).toEqual(first);
    const room = await api.request('GET', `/rooms/${roomId}`, { token: alice.token });
    expect(room.body.room.headSeq).toBe(2);
    const log = await logOf(roomId);
    expect(log.filter((e) => e.client_msg_id === 'same-id')).toHaveLength(1);
    // Another user may use the same clientMsgId: it is scoped to (room, user).
    const b = await RoomMember.enter(api, bob, roomId);
    members.push(b);
    const bobs = await b.send('same-id', 'bob says');
    expect(bobs.ok && bobs.seq).toBe(4); // after bob's member.joined at 3
  });

  it('has every acknowledged event in Postgres, readable by a process that did not write it', async () => {
    const { roomId, members: [a] } = await roomWithMembers(alice);
    const acks = await Promise.all([1, 2, 3].map((i) => a!.send(`durable-${i}`, `durable ${i}`)));
    // Straight from the database, right after the acks.
    const log = await logOf(roomId);
    for (const ack of acks) {
      if (!ack.ok) throw new Error(JSON.stringify(ack));
      expect(log.find((row) => row.seq === ack.seq)?.type).toBe('message.posted');
    }
    // And through a freshly started API process.
    const port = await freePort();
    const reader = ManagedProcess.start('reader-api', 'dist/apps/api/src/main.js', baseEnv({ PORT: String(port) }));
    try {
      const readerApi = new ApiClient(`http://127.0.0.1:${port}`);
      await waitFor('reader api', async () => (await fetch(`${readerApi.baseUrl}/health/live`)).ok);
      const history = await readerApi.request<{ events: EventEnvelope[]; headSeq: number }>('GET', `/rooms/${roomId}/events`, { token: bob.token });
      expect(history.status).toBe(200);
      expect(history.body.headSeq).toBe(4);
      expect(history.body.events.map((e) => [e.seq, e.type, e.clientMsgId ?? null])).toEqual([
        [1, 'room.created', null],
        [2, 'message.posted', 'durable-1'],
        [3, 'message.posted', 'durable-2'],
        [4, 'message.posted', 'durable-3'],
      ]);
      const ts = acks.map((ack) => ack.ok && ack.ts);
      expect(history.body.events.slice(1).map((e) => e.ts)).toEqual(ts);
    } finally {
      await reader.stop();
    }
  });

  it('spreads new rooms over both gateways', async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 12; i++) {
      const room = await api.createRoom(alice.token, `spread ${i}`);
      const info = await api.connection(alice.token, room.id);
      seen.set(info.gatewayId, (seen.get(info.gatewayId) ?? 0) + 1);
      // The owner is stable: asking again gives the same gateway.
      expect((await api.connection(bob.token, room.id)).gatewayId).toBe(info.gatewayId);
    }
    expect([...seen.keys()].sort()).toEqual(stack.gateways.map((g) => g.id).sort());
    for (const count of seen.values()) expect(count).toBeGreaterThanOrEqual(3);
  });

  describe('gateway tickets', () => {
    let roomId: string;
    let info: Awaited<ReturnType<ApiClient['connection']>>;
    const secret = baseEnv().JWT_SECRET!;

    beforeAll(async () => {
      roomId = (await api.createRoom(alice.token, 'tickets')).id;
      info = await api.connection(alice.token, roomId);
    });

    function claims(overrides: Record<string, unknown> = {}) {
      return { typ: 'ticket', sub: alice.user.id, usr: alice.user.username, role: 'user', room: roomId, gw: info.gatewayId, ...overrides };
    }

    it('opens with a genuine ticket', async () => {
      const socket = await openSocket(info.url, info.ticket);
      socket.close();
    });

    it('fails when forged', async () => {
      const forged = jwt.sign(claims({ role: 'admin' }), 'not-the-secret-0123456789abcdef', { algorithm: 'HS256', expiresIn: 60 });
      await expect(openSocket(info.url, forged)).rejects.toThrow('unauthorized');
      const unsigned = jwt.sign(claims(), '', { algorithm: 'none' } as jwt.SignOptions);
      await expect(openSocket(info.url, unsigned)).rejects.toThrow('unauthorized');
    });

    it('fails when expired', async () => {
      const expired = jwt.sign({ ...claims(), exp: Math.floor(Date.now() / 1000) - 5 }, secret, { algorithm: 'HS256' });
      await expect(openSocket(info.url, expired)).rejects.toThrow('unauthorized');
    });

    it('fails at another gateway', async () => {
      const other = stack.gateways.find((g) => g.id !== info.gatewayId)!;
      await expect(openSocket(other.url, info.ticket)).rejects.toThrow('unauthorized');
    });

    it('fails for a room this gateway does not own, and for an access token', async () => {
      // A validly signed ticket naming this gateway but a room it does not serve.
      let foreignRoom: string | undefined;
      for (let i = 0; i < 20 && !foreignRoom; i++) {
        const candidate = (await api.createRoom(alice.token, `foreign ${i}`)).id;
        if ((await api.connection(alice.token, candidate)).gatewayId !== info.gatewayId) foreignRoom = candidate;
      }
      expect(foreignRoom).toBeDefined();
      const wrongRoom = jwt.sign(claims({ room: foreignRoom }), secret, { algorithm: 'HS256', expiresIn: 60 });
      await expect(openSocket(info.url, wrongRoom)).rejects.toThrow('room_moved');
      await expect(openSocket(info.url, alice.token)).rejects.toThrow('unauthorized');
    });
  });

  describe('bad input', () => {
    it('rejects bad socket payloads with invalid and writes nothing', async () => {
      const { roomId, members: [a] } = await roomWithMembers(alice);
      const socket = a!.socket as any;
      const bad: unknown[] = [
        { clientMsgId: 'x', text: '' },
        { clientMsgId: 'x', text: 'y'.repeat(4001) },
        { clientMsgId: '', text: 'hi' },
        { clientMsgId: 'z'.repeat(65), text: 'hi' },
        { clientMsgId: 7, text: 'hi' },
        { clientMsgId: 'x', text: 42 },
        { clientMsgId: 'x' },
        { text: 'hi' },
        { clientMsgId: 'x', text: 'hi', actor: { id: bob.user.id } },
        'just a string',
        [1, 2, 3],
        null,
      ];
      for (const payload of bad) {
        const ack = await socket.timeout(5000).emitWithAck('message:send', payload);
        expect(ack).toEqual({ ok: false, error: { code: 'invalid', message: expect.any(String) } });
      }
      const badEdit = await socket.timeout(5000).emitWithAck('message:edit', { seq: 'one', text: 'x' });
      expect(badEdit.error.code).toBe('invalid');
      const badJoin = await socket.timeout(5000).emitWithAck('room:join', { afterSeq: -1 });
      expect(badJoin.error.code).toBe('invalid');
      expect((await logOf(roomId)).map((e) => e.seq)).toEqual([1]);
      // The connection survives bad input.
      const good = await a!.send('fine', 'still works');
      expect(good.ok && good.seq).toBe(2);
    });

    it('answers bad HTTP requests with the contract error and writes nothing', async () => {
      const expectError = (res: { status: number; body: any }, status: number, code: string) => {
        expect({ status: res.status, code: res.body?.error?.code, message: typeof res.body?.error?.message }).toEqual({ status, code, message: 'string' });
      };
      expectError(await api.request('POST', '/auth/register', { raw: '{"username": "broken' }), 400, 'invalid');
      expectError(await api.request('POST', '/auth/register', { body: { username: 'ok_name', password: 'longenough', admin: true } }), 400, 'invalid');
      expectError(await api.request('POST', '/auth/register', { body: { username: 'A!', password: 'longenough' } }), 400, 'invalid');
      expectError(await api.request('POST', '/auth/register', { body: { username: 'shortpw', password: 'short' } }), 400, 'invalid');
      expectError(await api.request('POST', '/auth/register', { body: { username: alice.user.username, password: 'longenough' } }), 409, 'username_taken');
      expectError(await api.request('POST', '/auth/login', { body: { username: alice.user.username, password: 'wrong-password' } }), 401, 'unauthorized');
      expectError(await api.request('POST', '/rooms', { body: { name: 'no token' } }), 401, 'unauthorized');
      expectError(await api.request('POST', '/rooms', { body: { name: 'bad token' }, token: 'abc.def.ghi' }), 401, 'unauthorized');
      expectError(await api.request('POST', '/rooms', { body: { name: '' }, token: alice.token }), 400, 'invalid');
      expectError(await api.request('POST', '/rooms', { body: { name: 'x'.repeat(101) }, token: alice.token }), 400, 'invalid');
      expectError(await api.request('POST', '/rooms', { body: { name: 5 }, token: alice.token }), 400, 'invalid');
      expectError(await api.request('POST', '/rooms', { body: {}, token: alice.token }), 400, 'invalid');
      expectError(await api.request('POST', '/rooms', { body: { name: 'x', extra: 1 }, token: alice.token }), 400, 'invalid');
      expectError(await api.request('POST', '/rooms', { raw: '{"name":', token: alice.token }), 400, 'invalid');
      expectError(await api.request('POST', '/rooms', { raw: JSON.stringify({ name: 'x'.repeat(40_000) }), token: alice.token }), 413, 'payload_too_large');
      expectError(await api.request('GET', `/rooms/${UUID_ZERO}`, { token: alice.token }), 404, 'not_found');
      expectError(await api.request('GET', '/rooms/not-a-uuid%20at%20all', { token: alice.token }), 404, 'not_found');
      expectError(await api.request('POST', `/rooms/${UUID_ZERO}/connection`, { token: alice.token }), 404, 'not_found');
      expectError(await api.request('GET', `/rooms/${UUID_ZERO}/events`, { token: alice.token }), 404, 'not_found');
      const room = await api.createRoom(alice.token, 'queries');
      expectError(await api.request('GET', `/rooms/${room.id}/events?limit=0`, { token: alice.token }), 400, 'invalid');
      expectError(await api.request('GET', `/rooms/${room.id}/events?limit=501`, { token: alice.token }), 400, 'invalid');
      expectError(await api.request('GET', `/rooms/${room.id}/events?after=1&before=5`, { token: alice.token }), 400, 'invalid');
      expectError(await api.request('GET', `/rooms/${room.id}/events?after=abc`, { token: alice.token }), 400, 'invalid');
      expectError(await api.request('GET', `/rooms/${room.id}/events?cursor=1`, { token: alice.token }), 400, 'invalid');
      expectError(await api.request('GET', `/rooms/${room.id}/events`), 401, 'unauthorized');
      expectError(await api.request('POST', `/rooms/${room.id}/connection`, { body: { gatewayId: 'x' }, token: alice.token }), 400, 'invalid');
      expect((await logOf(room.id)).map((e) => e.seq)).toEqual([1]);
    });
  });

  it('lets only the author edit, and the author or an admin delete', async () => {
    const { roomId, members: [a, b] } = await roomWithMembers(alice, bob);
    const posted = await a!.send('to-edit', 'first draft');
    if (!posted.ok) throw new Error(JSON.stringify(posted));
    const bobEdit = await b!.socket.timeout(5000).emitWithAck('message:edit', { seq: posted.seq, text: 'hijacked' });
    expect(bobEdit).toEqual({ ok: false, error: { code: 'forbidden', message: expect.any(String) } });
    const bobDelete = await b!.socket.timeout(5000).emitWithAck('message:delete', { seq: posted.seq });
    expect(bobDelete).toEqual({ ok: false, error: { code: 'forbidden', message: expect.any(String) } });
    const createdEdit = await a!.socket.timeout(5000).emitWithAck('message:edit', { seq: 1, text: 'not a message' });
    expect(createdEdit.ok ? 'ok' : createdEdit.error.code).toBe('not_found');
    const aliceEdit = await a!.socket.timeout(5000).emitWithAck('message:edit', { seq: posted.seq, text: 'second draft' });
    expect(aliceEdit.ok).toBe(true);
    const aliceDelete = await a!.socket.timeout(5000).emitWithAck('message:delete', { seq: posted.seq });
    expect(aliceDelete.ok).toBe(true);
    const log = await logOf(roomId);
    expect(log.map((e) => [e.type, e.actor_id])).toEqual([
      ['room.created', alice.user.id],
      ['member.joined', bob.user.id],
      ['message.posted', alice.user.id],
      ['message.edited', alice.user.id],
      ['message.deleted', alice.user.id],
    ]);
  });

  it('broadcasts presence on join and leave', async () => {
    const { roomId, members: [a] } = await roomWithMembers(alice);
    const names = (p: { users: Array<{ username: string }> } | undefined) => (p?.users.map((u) => u.username) ?? []).sort();
    await waitFor('alice to see herself', async () => names(a!.presence.at(-1)).includes(alice.user.username), 5_000);
    const b = await RoomMember.enter(api, bob, roomId);
    await waitFor('alice to see bob join', async () => names(a!.presence.at(-1)).length === 2, 5_000);
    expect(names(a!.presence.at(-1))).toEqual([alice.user.username, bob.user.username].sort());
    b.close();
    await waitFor('alice to see bob leave', async () => names(a!.presence.at(-1)).length === 1, 5_000);
    expect(names(a!.presence.at(-1))).toEqual([alice.user.username]);
  });

  it('does not count a socket present when it disconnected while its join was in flight', async () => {
    const room = await api.createRoom(alice.token, 'e2e presence race');
    // Bob's first join of the public room commits his member.joined before it subscribes him,
    // so a disconnect right behind it reaches the gateway while the join waits for that commit.
    // (Socket.IO drops a packet whose socket closed before it was dispatched: `typing`, answered
    // at once outside the room's chain, shows the join was dispatched before the disconnect.)
    const info = await api.connection(bob.token, room.id);
    const early = await openSocket(info.url, info.ticket);
    early.emit('room:join', {}, () => undefined);
    await early.timeout(5_000).emitWithAck('typing', { active: false });
    early.disconnect();
    await waitFor('bob to be a member', async () => (await logOf(room.id)).some((e) => e.type === 'member.joined' && e.actor_id === bob.user.id), 5_000);
    const a = await RoomMember.enter(api, alice, room.id);
    members.push(a);
    await waitFor('alice to see a presence list', async () => a.presence.length > 0, 5_000);
    expect(a.presence.at(-1)!.users.map((u) => u.username)).toEqual([alice.user.username]);
  });

  it('sends one presence update, not one per socket, when many members leave at once', async () => {
    const room = await api.createRoom(alice.token, 'e2e presence burst');
    const a = await RoomMember.enter(api, alice, room.id);
    members.push(a);
    const others = await Promise.all(Array.from({ length: 20 }, (_, i) => api.register(`crowd${i}`)));
    const crowd = await Promise.all(others.map((user) => RoomMember.enter(api, user, room.id)));
    await waitFor('alice to see all 21', async () => a.presence.at(-1)?.users.length === 21, 10_000);
    const before = a.presence.length;
    for (const member of crowd) member.close(); // 20 disconnects in one tick of this process
    await waitFor('alice to see herself alone', async () => a.presence.at(-1)?.users.length === 1, 10_000);
    // Each update carries the whole list to every joined socket: one per leave would be 20 here
    // (and N² frames for a room of N users that moves). Closes that straddle a window may take two.
    expect(a.presence.length - before).toBeLessThanOrEqual(3);
  });

  it('keeps 20 clients x 5 rooms gap-free with every acknowledged message exactly once', async () => {
    const users = await Promise.all(Array.from({ length: 20 }, (_, i) => api.register(`load${i}`)));
    const rooms = await Promise.all(Array.from({ length: 5 }, (_, i) => api.createRoom(users[0]!.token, `load ${i}`)));
    const clients = await Promise.all(users.map((user, i) => RoomMember.enter(api, user, rooms[i % 5]!.id)));
    members.push(...clients);
    const acked = new Map<string, Array<{ clientMsgId: string; seq: number; userId: string }>>();
    const deadline = Date.now() + 3_000;
    await Promise.all(
      clients.map(async (client, i) => {
        const roomId = rooms[i % 5]!.id;
        for (let n = 0; Date.now() < deadline; n++) {
          const clientMsgId = `load-${i}-${n}`;
          const ack = await client.send(clientMsgId, `from ${i}: ${n}`);
          if (!ack.ok) throw new Error(`send failed: ${JSON.stringify(ack)}`);
          const list = acked.get(roomId) ?? [];
          list.push({ clientMsgId, seq: ack.seq, userId: client.user.user.id });
          acked.set(roomId, list);
        }
      }),
    );
    for (const [r, room] of rooms.entries()) {
      const log = await logOf(room.id);
      expect(log.map((e) => e.seq)).toEqual(Array.from({ length: log.length }, (_, i) => i + 1));
      const sent = acked.get(room.id) ?? [];
      expect(sent.length).toBeGreaterThan(0);
      // Every member but the room's creator joined it for the first time: one member.joined each.
      const joins = users.filter((_, i) => i % 5 === r && i !== 0).length;
      expect(log.filter((e) => e.type === 'member.joined')).toHaveLength(joins);
      expect(log.length).toBe(1 + joins + sent.length);
      const bySeq = new Map(log.map((e) => [e.seq, e]));
      for (const s of sent) {
        expect(bySeq.get(s.seq)).toMatchObject({ client_msg_id: s.clientMsgId, actor_id: s.userId });
      }
      expect(new Set(log.map((e) => `${e.actor_id}/${e.client_msg_id}`)).size).toBe(log.length);
    }
  });
});
