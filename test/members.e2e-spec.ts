/**
 * Rooms with members (issue 10), end to end: real API and gateway processes, real Postgres,
 * Redis and S3, users connecting through socket.io-client. Acceptance points 1–5 of the issue;
 * point 6 (rebuild equals live projection) is apps/gateway/src/rooms/membership-projection.int-spec.ts.
 */
import { performance } from 'node:perf_hooks';
import jwt from 'jsonwebtoken';
import { Pool } from 'pg';
import type { EventEnvelope } from '../libs/domain/src';
import { ApiClient, openSocket, RoomMember, type ChatSocket, type TestUser } from './support/client';
import { baseEnv, waitFor } from './support/processes';
import { S3Server } from './support/s3-server';
import { TestStack } from './support/stack';
import { runCli, startWorker } from './support/worker';
import { gunzipSync } from 'node:zlib';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

jest.setTimeout(180_000);

const ENV = { RATE_LIMIT_MSG_PER_SEC: '0', GATEWAY_TTL_SECONDS: '2', SNAPSHOT_EVERY_EVENTS: '5', SNAPSHOT_INTERVAL_MS: '600000' };
const SECRET = baseEnv().JWT_SECRET!;

type Ack = { ok: true; seq: number | null; ts?: string } | { ok: false; error: { code: string; message: string } };

describe('rooms with members (e2e)', () => {
  let s3: S3Server;
  let stack: TestStack;
  let api: ApiClient;
  let pool: Pool;
  let owner: TestUser;
  let mod: TestUser;
  let member: TestUser;
  let stranger: TestUser;
  const open: Array<{ close(): void }> = [];

  beforeAll(async () => {
    s3 = await S3Server.start();
    stack = await TestStack.start({ name: 'members', gateways: 2, s3, env: ENV });
    api = new ApiClient(stack.apiUrl);
    pool = new Pool({ connectionString: baseEnv().DATABASE_URL, max: 2 });
    [owner, mod, member, stranger] = await Promise.all([api.register('owner'), api.register('mod'), api.register('member'), api.register('stranger')]);
  });

  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });

  afterAll(async () => {
    await pool?.end();
    await stack?.stop();
    await s3?.destroy();
  });

  async function createRoom(user: TestUser, visibility: 'public' | 'private', name = `members ${visibility}`): Promise<string> {
    const res = await api.request('POST', '/rooms', { token: user.token, body: { name, visibility } });
    expect(res.status).toBe(201);
    expect(res.body.room.visibility).toBe(visibility);
    return res.body.room.id;
  }

  async function enter(user: TestUser, roomId: string): Promise<RoomMember> {
    const m = await RoomMember.enter(api, user, roomId);
    open.push(m);
    return m;
  }

  function command(socket: ChatSocket, event: string, payload: unknown): Promise<Ack> {
    return (socket as any).timeout(10_000).emitWithAck(event, payload);
  }

  /** A ticket the API would not give `user` (it refuses them): signed like the API's, to test the gateway's own check. */
  async function forgedTicket(user: TestUser, roomId: string): Promise<{ url: string; ticket: string }> {
    const info = await api.connection(owner.token, roomId);
    const ticket = jwt.sign({ typ: 'ticket', sub: user.user.id, usr: user.user.username, role: 'user', room: roomId, gw: info.gatewayId }, SECRET, {
      algorithm: 'HS256',
      expiresIn: 60,
    });
    return { url: info.url, ticket };
  }

  async function logTypes(roomId: string): Promise<string[]> {
    const { rows } = await pool.query('SELECT type FROM room_events WHERE room_id = $1 ORDER BY seq', [roomId]);
    return rows.map((r: { type: string }) => r.type);
  }

  async function status(user: TestUser, method: string, path: string): Promise<number> {
    return (await api.request(method, path, { token: user.token })).status;
  }

  async function promote(roomId: string, ownerSocket: ChatSocket, user: TestUser): Promise<void> {
    const ack = await command(ownerSocket, 'member:role', { userId: user.user.id, role: 'moderator' });
    expect(ack.ok).toBe(true);
  }

  it('1. refuses a private room to a user neither invited nor a member (403 and a refused handshake); an invited user gets in, and the log shows member.invited then member.joined', async () => {
    const roomId = await createRoom(owner, 'private');
    for (const [method, path] of [
      ['POST', `/rooms/${roomId}/connection`],
      ['GET', `/rooms/${roomId}/events`],
      ['GET', `/rooms/${roomId}/members`],
      ['GET', `/rooms/${roomId}`],
    ] as const) {
      const res = await api.request(method, path, { token: stranger.token });
      expect({ path, status: res.status, code: res.body?.error?.code }).toEqual({ path, status: 403, code: 'forbidden' });
    }
    const forged = await forgedTicket(stranger, roomId);
    await expect(openSocket(forged.url, forged.ticket)).rejects.toThrow('forbidden');

    const o = await enter(owner, roomId);
    const invited = await command(o.socket, 'member:invite', { username: stranger.user.username });
    expect(invited).toEqual({ ok: true, seq: 2, ts: expect.any(String) });
    expect(await status(stranger, 'GET', `/rooms/${roomId}/events`)).toBe(200);
    const s = await enter(stranger, roomId);
    expect(s.user.user.id).toBe(stranger.user.id);
    expect(await logTypes(roomId)).toEqual(['room.created', 'member.invited', 'member.joined']);
    const history = await api.request<{ events: EventEnvelope[] }>('GET', `/rooms/${roomId}/events`, { token: stranger.token });
    expect(history.body.events.slice(1).map((e) => [e.type, e.data])).toEqual([
      ['member.invited', { userId: stranger.user.id, username: stranger.user.username }],
      ['member.joined', { userId: stranger.user.id, username: stranger.user.username, role: 'member' }],
    ]);
    const members = await api.request('GET', `/rooms/${roomId}/members`, { token: stranger.token });
    expect(members.body.members).toEqual([
      { id: owner.user.id, username: owner.user.username, role: 'owner', mutedUntil: null },
      { id: stranger.user.id, username: stranger.user.username, role: 'member', mutedUntil: null },
    ]);
    // A reconnect logs nothing more.
    s.close();
    await enter(stranger, roomId);
    expect(await logTypes(roomId)).toHaveLength(3);
    // GET /rooms lists it for both, with their roles.
    const mine = await api.request('GET', '/rooms', { token: stranger.token });
    expect(mine.body.rooms.find((r: { id: string }) => r.id === roomId)).toMatchObject({ role: 'member', visibility: 'private', headSeq: 3, unread: 0, lastReadSeq: 0, lastEvent: { seq: 3, type: 'member.joined' } });
  });

  describe('2. role rules', () => {
    let roomId: string;
    let o: RoomMember;
    let md: RoomMember;
    let mb: RoomMember;

    beforeEach(async () => {
      roomId = await createRoom(owner, 'public', 'role rules');
      o = await enter(owner, roomId);
      md = await enter(mod, roomId);
      mb = await enter(member, roomId);
      await promote(roomId, o.socket, mod);
    });

    it('a member cannot moderate', async () => {
      const before = await logTypes(roomId);
      for (const [event, payload] of [
        ['member:invite', { username: stranger.user.username }],
        ['member:ban', { userId: mod.user.id }],
        ['member:remove', { userId: mod.user.id }],
        ['member:mute', { userId: mod.user.id, seconds: 60 }],
        ['member:unban', { userId: stranger.user.id }],
        ['member:role', { userId: mod.user.id, role: 'member' }],
      ] as const) {
        const ack = await command(mb.socket, event, payload);
        expect({ event, ack }).toEqual({ event, ack: { ok: false, error: { code: 'forbidden', message: expect.any(String) } } });
      }
      expect(await logTypes(roomId)).toEqual(before);
    });

    it('a moderator cannot ban the owner or change roles', async () => {
      const before = await logTypes(roomId);
      expect(await command(md.socket, 'member:ban', { userId: owner.user.id, reason: 'coup' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      expect(await command(md.socket, 'member:role', { userId: member.user.id, role: 'moderator' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      expect(await logTypes(roomId)).toEqual(before);
      // The owner still is one, and the moderator may moderate a member.
      const members = await api.request('GET', `/rooms/${roomId}/members`, { token: member.token });
      expect(members.body.members.map((m: { id: string; role: string }) => [m.id, m.role])).toEqual([
        [owner.user.id, 'owner'],
        [mod.user.id, 'moderator'],
        [member.user.id, 'member'],
      ]);
      expect(await command(md.socket, 'member:mute', { userId: member.user.id, seconds: 30 })).toMatchObject({ ok: true });
    });

    it('the owner cannot leave', async () => {
      expect(await command(o.socket, 'room:leave', {})).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      const left = await command(mb.socket, 'room:leave', {});
      expect(left).toEqual({ ok: true, seq: expect.any(Number), ts: expect.any(String) });
      expect((await logTypes(roomId)).at(-1)).toBe('member.left');
      const members = await api.request('GET', `/rooms/${roomId}/members`, { token: owner.token });
      expect(members.body.members.map((m: { id: string }) => m.id)).not.toContain(member.user.id);
    });

    it('a moderator or the owner may delete any message; a member may not', async () => {
      const posted = await mb.send('to-delete', 'rude');
      const other = await o.send('owner-msg', 'hello');
      if (!posted.ok || !other.ok) throw new Error('send failed');
      expect(await command(mb.socket, 'message:delete', { seq: other.seq })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      expect(await command(md.socket, 'message:delete', { seq: posted.seq })).toMatchObject({ ok: true });
    });
  });

  it('leaving a private room takes the open socket out of presence and typing, not just out of its events', async () => {
    const roomId = await createRoom(owner, 'private', 'leave private');
    const o = await enter(owner, roomId);
    expect(await command(o.socket, 'member:invite', { username: member.user.username })).toMatchObject({ ok: true });
    const m = await enter(member, roomId);
    const names = () => (o.presence.at(-1)?.users.map((u) => u.username) ?? []).sort();
    await waitFor('the owner to see the member', async () => names().length === 2, 5_000);
    const typing: Array<{ users: Array<{ username: string }> }> = [];
    o.socket.on('room:typing' as any, (p: { users: Array<{ username: string }> }) => typing.push(p));
    expect(await command(m.socket, 'typing', { active: true })).toMatchObject({ ok: true });
    await waitFor('the owner to see the member typing', async () => typing.at(-1)?.users.length === 1, 5_000);

    expect(await command(m.socket, 'room:leave', {})).toMatchObject({ ok: true });
    expect(m.socket.connected).toBe(true);
    await waitFor('the owner to see the member gone', async () => names().length === 1, 5_000);
    expect(names()).toEqual([owner.user.username]);
    await waitFor('the member to stop typing', async () => typing.at(-1)?.users.length === 0, 5_000);
    expect(await command(m.socket, 'typing', { active: true })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('3. a ban while the target is connected: room:kicked and a close within 1 s, every later request refused (tight loop), unban restores access', async () => {
    const roomId = await createRoom(owner, 'public', 'ban');
    const o = await enter(owner, roomId);
    const target = await enter(member, roomId);
    const kicked: Array<{ roomId: string; reason: string; at: number }> = [];
    let closedAt = 0;
    target.socket.on('room:kicked' as any, (p: { roomId: string; reason: string }) => kicked.push({ ...p, at: performance.now() }));
    target.socket.on('disconnect', () => {
      closedAt = performance.now();
    });

    // The target's requests in a tight loop around the ban: three kinds, back to back.
    const results: Array<{ path: string; started: number; status: number }> = [];
    let stop = false;
    const loop = (async () => {
      const paths: Array<[string, string]> = [
        ['GET', `/rooms/${roomId}/events`],
        ['POST', `/rooms/${roomId}/connection`],
        ['GET', `/rooms/${roomId}/members`],
      ];
      for (let i = 0; !stop; i++) {
        const [method, path] = paths[i % paths.length]!;
        const started = performance.now();
        const res = await api.request(method, path, { token: member.token });
        results.push({ path, started, status: res.status });
      }
    })();
    await waitFor('the loop to run', async () => results.length >= 20, 10_000, 5);
    const ack = await command(o.socket, 'member:ban', { userId: member.user.id, reason: 'spam' });
    const ackedAt = performance.now();
    expect(ack).toEqual({ ok: true, seq: expect.any(Number), ts: expect.any(String) });
    await waitFor('more requests after the ack', async () => results.filter((r) => r.started > ackedAt).length >= 30, 10_000, 5);
    stop = true;
    await loop;

    // Before the ban the target was in (the ones just before the ack may already see it).
    const after = results.filter((r) => r.started > ackedAt);
    expect(results.slice(0, 20).every((r) => r.status === 200)).toBe(true);
    expect(after.filter((r) => r.status !== 403)).toEqual([]);

    await waitFor('room:kicked', async () => kicked.length > 0, 2_000, 10);
    expect(kicked[0]).toMatchObject({ roomId, reason: 'banned' });
    await waitFor('the socket to close', async () => closedAt > 0, 2_000, 10);
    expect(closedAt - kicked[0]!.at).toBeLessThan(1_000);
    // A ticket from before the ban (or a forged one) opens nothing.
    const forged = await forgedTicket(member, roomId);
    await expect(openSocket(forged.url, forged.ticket)).rejects.toThrow('forbidden');
    expect(await logTypes(roomId)).toContain('member.banned');

    const unbanned = await command(o.socket, 'member:unban', { userId: member.user.id });
    expect(unbanned).toMatchObject({ ok: true });
    expect(await status(member, 'GET', `/rooms/${roomId}/events`)).toBe(200);
    const back = await enter(member, roomId);
    expect((await back.send('back', 'I am back')).ok).toBe(true);
  });

  it('4. mute refuses sends until it lapses or is lifted; removal kicks the user, who may rejoin a public room', async () => {
    const roomId = await createRoom(owner, 'public', 'mute');
    const o = await enter(owner, roomId);
    const m = await enter(member, roomId);
    expect(await command(o.socket, 'member:mute', { userId: member.user.id, seconds: 2 })).toMatchObject({ ok: true });
    const members = await api.request('GET', `/rooms/${roomId}/members`, { token: owner.token });
    expect(members.body.members.find((x: { id: string }) => x.id === member.user.id).mutedUntil).toEqual(expect.any(String));
    expect(await m.send('muted-1', 'hello?')).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    await waitFor('the mute to lapse', async () => (await m.send(`after-lapse-${Date.now()}`, 'lapsed')).ok, 6_000, 250);

    expect(await command(o.socket, 'member:mute', { userId: member.user.id, seconds: 600 })).toMatchObject({ ok: true });
    expect(await m.send('muted-2', 'hello?')).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await command(o.socket, 'member:mute', { userId: member.user.id, seconds: 0 })).toMatchObject({ ok: true });
    expect(await m.send('lifted', 'free again')).toMatchObject({ ok: true });

    const kicked: string[] = [];
    m.socket.on('room:kicked' as any, (p: { reason: string }) => kicked.push(p.reason));
    expect(await command(o.socket, 'member:remove', { userId: member.user.id, reason: 'cool down' })).toMatchObject({ ok: true });
    await waitFor('room:kicked removed', async () => kicked.includes('removed'), 2_000, 10);
    await waitFor('the socket to close', async () => !m.socket.connected, 2_000, 10);
    const again = await enter(member, roomId);
    expect((await again.send('rejoined', 'hi again')).ok).toBe(true);
    const types = await logTypes(roomId);
    expect(types.slice(types.lastIndexOf('member.removed'))).toEqual(['member.removed', 'member.joined', 'message.posted']);
  });

  it('GET /rooms lists the caller\'s rooms with role and head, most recent activity first, paged by cursor', async () => {
    const user = await api.register('lister');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await createRoom(user, i === 1 ? 'private' : 'public', `list ${i}`));
    // Activity in the first room makes it the most recent; a room of someone else that the user
    // joined is listed with role member.
    const first = await enter(user, ids[0]!);
    expect((await first.send('bump', 'bump')).ok).toBe(true);
    const page1 = await api.request('GET', '/rooms?limit=2', { token: user.token });
    expect(page1.status).toBe(200);
    expect(page1.body.rooms.map((r: { id: string }) => r.id)).toEqual([ids[0], ids[2]]);
    expect(page1.body.rooms[0]).toEqual({
      id: ids[0],
      name: 'list 0',
      visibility: 'public',
      role: 'owner',
      headSeq: 2,
      lastEvent: expect.objectContaining({ seq: 2, type: 'message.posted' }),
      unread: 0,
      lastReadSeq: 0,
    });
    expect(typeof page1.body.next).toBe('string');
    const page2 = await api.request('GET', `/rooms?limit=2&before=${encodeURIComponent(page1.body.next)}`, { token: user.token });
    expect(page2.body.rooms.map((r: { id: string; role: string }) => [r.id, r.role])).toEqual([[ids[1], 'owner']]);
    expect(page2.body.next).toBeNull();
    const other = await createRoom(owner, 'public', 'someone else');
    await enter(user, other);
    const mine = await api.request('GET', '/rooms', { token: user.token });
    expect(mine.body.rooms[0]).toMatchObject({ id: other, role: 'member' });
    for (const bad of ['limit=0', 'limit=101', 'before=nonsense', 'cursor=1']) {
      expect((await api.request('GET', `/rooms?${bad}`, { token: user.token })).status).toBe(400);
    }
  });

  it('CLI rebuild-members repairs a damaged projection from the log; an export holds the member events', async () => {
    const roomId = await createRoom(owner, 'public', 'cli');
    const o = await enter(owner, roomId);
    expect(await command(o.socket, 'member:invite', { username: member.user.username })).toMatchObject({ ok: true });
    await enter(member, roomId);
    expect(await command(o.socket, 'member:role', { userId: member.user.id, role: 'moderator' })).toMatchObject({ ok: true });
    expect(await command(o.socket, 'member:ban', { userId: stranger.user.id })).toMatchObject({ ok: true });
    const rowsOf = async () => (await pool.query('SELECT user_id, username, status, role, muted_until FROM room_members WHERE room_id = $1 ORDER BY user_id', [roomId])).rows;
    const live = await rowsOf();
    expect(live).toHaveLength(3);

    // Damage it: the moderator's row gone, the ban lifted, a stranger's row that the log never wrote.
    await pool.query(`DELETE FROM room_members WHERE room_id = $1 AND user_id <> $2`, [roomId, owner.user.id]);
    await pool.query(`INSERT INTO room_members (room_id, user_id, username, status, role) VALUES ($1, $2, 'ghost', 'member', 'owner')`, [roomId, mod.user.id]);
    expect(await status(stranger, 'GET', `/rooms/${roomId}/events`)).toBe(200); // the damage shows
    const one = await runCli(stack.env(), ['rebuild-members', roomId]);
    expect({ code: one.code, output: one.output }).toEqual({ code: 0, output: expect.stringContaining('repaired') });
    expect(await rowsOf()).toEqual(live);
    expect(await status(stranger, 'GET', `/rooms/${roomId}/events`)).toBe(403);
    const all = await runCli(stack.env(), ['rebuild-members', '--all']);
    // Every room of the (shared) test database; ours is right already, so it is not listed.
    expect({ code: all.code, output: all.output }).toEqual({ code: 0, output: expect.stringMatching(/rebuilt the membership of \d+ room\(s\); \d+ differed/) });
    expect(all.output).not.toContain(roomId);
    expect((await runCli(stack.env(), ['rebuild-members'])).code).toBe(2);
    expect((await runCli(stack.env(), ['rebuild-members', '00000000-0000-4000-8000-000000000000'])).code).toBe(1);

    // The export (worker, CLI) is the whole log, member events included.
    const worker = await startWorker('members-worker', stack.env({ COLD_SNAPSHOT_SWEEP_MS: '0' }));
    const dir = mkdtempSync(join(tmpdir(), 'members-export-'));
    try {
      const out = join(dir, 'room.ndjson.gz');
      const exported = await runCli(stack.env(), ['export', roomId, '--out', out]);
      expect({ code: exported.code, output: exported.output }).toEqual({ code: 0, output: expect.any(String) });
      const lines = gunzipSync(readFileSync(out)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as EventEnvelope);
      expect(lines.map((e) => e.type)).toEqual(await logTypes(roomId));
      expect(lines.map((e) => e.type)).toEqual(['room.created', 'member.invited', 'member.joined', 'member.role_changed', 'member.banned']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await worker.stop();
    }
  });

  it('5. membership survives kill -9 of the owning gateway and a full restart (snapshot and tail): the banned user is refused, roles are intact', async () => {
    const roomId = await createRoom(owner, 'private', 'survivor');
    const o = await enter(owner, roomId);
    for (const user of [mod, member, stranger]) expect(await command(o.socket, 'member:invite', { username: user.user.username })).toMatchObject({ ok: true });
    const md = await enter(mod, roomId);
    await enter(member, roomId);
    await promote(roomId, o.socket, mod);
    // Enough events for a snapshot (every 5), then a tail after it holding the ban.
    for (let i = 0; i < 4; i++) expect((await o.send(`fill-${i}`, `fill ${i}`)).ok).toBe(true);
    await waitFor('a snapshot', async () => (await pool.query('SELECT 1 FROM room_snapshots WHERE room_id = $1', [roomId])).rowCount! > 0, 10_000);
    expect(await command(md.socket, 'member:ban', { userId: stranger.user.id, reason: 'troll' })).toMatchObject({ ok: true });
    const { rows } = await pool.query('SELECT max(seq) AS seq FROM room_snapshots WHERE room_id = $1', [roomId]);
    const head = (await pool.query('SELECT head_seq FROM rooms WHERE id = $1', [roomId])).rows[0].head_seq;
    expect(rows[0].seq).toBeLessThan(head);

    const checkMembership = async (where: string) => {
      const res = await api.request('GET', `/rooms/${roomId}/members`, { token: owner.token });
      expect({ where, members: res.body.members.map((m: { id: string; role: string }) => [m.id, m.role]).sort() }).toEqual({
        where,
        members: [
          [owner.user.id, 'owner'],
          [mod.user.id, 'moderator'],
          [member.user.id, 'member'],
        ].sort(),
      });
      expect(await status(stranger, 'POST', `/rooms/${roomId}/connection`)).toBe(403);
      expect(await status(stranger, 'GET', `/rooms/${roomId}/events`)).toBe(403);
      // The gateway that loads the room now (from the snapshot and the tail) refuses the banned
      // user and keeps the roles: the moderator may mute the member; the member may not moderate.
      const forged = await forgedTicket(stranger, roomId);
      await expect(openSocket(forged.url, forged.ticket)).rejects.toThrow('forbidden');
      const md2 = await enter(mod, roomId);
      expect(await command(md2.socket, 'member:mute', { userId: member.user.id, seconds: 1 })).toMatchObject({ ok: true });
      expect(await command(md2.socket, 'member:ban', { userId: owner.user.id })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      md2.close();
    };

    // kill -9 of the owning gateway: the room resumes on the other one.
    const ownerGateway = (await api.connection(owner.token, roomId)).gatewayId;
    for (const s of open.splice(0)) s.close();
    await stack.killGateway(ownerGateway);
    await waitFor(
      'the room to move to the surviving gateway',
      async () => {
        const res = await api.request('POST', `/rooms/${roomId}/connection`, { token: owner.token });
        return res.status === 200 && res.body.gatewayId !== ownerGateway;
      },
      30_000,
      250,
    );
    await checkMembership('after kill -9');

    // A full restart of everything on the same database and object store.
    for (const s of open.splice(0)) s.close();
    await stack.stop();
    stack = await TestStack.start({ name: 'members-again', gateways: 2, s3, env: ENV, keepRedis: true });
    api = new ApiClient(stack.apiUrl);
    await checkMembership('after a full restart');
  });
});
