/**
 * Read markers, unread counts and search (issue 11, acceptance 4 and 5), end to end: real API
 * and gateway processes, real Postgres, Redis and S3, users on socket.io-client. The projection
 * under the fence is libs/persistence/src/message-search.int-spec.ts; the timing of acceptance 6
 * is `npm run bench` (scenario read-side).
 */
import { randomUUID } from 'node:crypto';
import { ApiClient, RoomMember, type ChatSocket, type TestUser } from './support/client';
import { S3Server } from './support/s3-server';
import { TestStack } from './support/stack';

jest.setTimeout(120_000);

type Ack = { ok: true; seq?: number | null; lastReadSeq?: number } | { ok: false; error: { code: string; message: string } };

describe('read markers, unread counts and search (e2e)', () => {
  let s3: S3Server;
  let stack: TestStack;
  let api: ApiClient;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  const open: RoomMember[] = [];

  beforeAll(async () => {
    s3 = await S3Server.start();
    stack = await TestStack.start({ name: 'unread-search', gateways: 1, s3, env: { RATE_LIMIT_MSG_PER_SEC: '0' } });
    api = new ApiClient(stack.apiUrl);
    [alice, bob, carol] = await Promise.all([api.register('alice'), api.register('bob'), api.register('carol')]);
  });

  afterEach(() => {
    for (const m of open.splice(0)) m.close();
  });

  afterAll(async () => {
    await stack?.stop();
    await s3?.destroy();
  });

  async function createRoom(user: TestUser, visibility: 'public' | 'private' = 'public'): Promise<string> {
    const res = await api.request('POST', '/rooms', { token: user.token, body: { name: `read-side ${visibility}`, visibility } });
    expect(res.status).toBe(201);
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

  async function send(m: RoomMember, text: string): Promise<number> {
    const ack = (await m.send(randomUUID(), text)) as Ack;
    if (!ack.ok || typeof ack.seq !== 'number') throw new Error(`send failed: ${JSON.stringify(ack)}`);
    return ack.seq;
  }

  async function myRoom(user: TestUser, roomId: string): Promise<{ unread: number; lastReadSeq: number; headSeq: number }> {
    const res = await api.request('GET', '/rooms?limit=100', { token: user.token });
    expect(res.status).toBe(200);
    const room = res.body.rooms.find((r: { id: string }) => r.id === roomId);
    expect(room).toBeDefined();
    return room;
  }

  it('acceptance 4: unread counts follow marks (monotonic), deletes, and never count own messages', async () => {
    const roomId = await createRoom(alice);
    const a = await enter(alice, roomId);
    const b = await enter(bob, roomId);
    const seqs: number[] = [];
    for (let i = 1; i <= 5; i++) seqs.push(await send(b, `message ${i}`));
    await send(a, 'my own message does not count');

    expect(await myRoom(alice, roomId)).toMatchObject({ unread: 5, lastReadSeq: 0 });
    // The author's own five are not unread for him; alice's one is.
    expect(await myRoom(bob, roomId)).toMatchObject({ unread: 1, lastReadSeq: 0 });

    const headBefore = (await myRoom(alice, roomId)).headSeq;
    expect(await command(a.socket, 'read:mark', { seq: seqs[2] })).toEqual({ ok: true, lastReadSeq: seqs[2] });
    expect(await myRoom(alice, roomId)).toMatchObject({ unread: 2, lastReadSeq: seqs[2] });

    // A lower mark changes nothing: the ack reports the marker as it stays.
    expect(await command(a.socket, 'read:mark', { seq: seqs[0] })).toEqual({ ok: true, lastReadSeq: seqs[2] });
    expect(await myRoom(alice, roomId)).toMatchObject({ unread: 2, lastReadSeq: seqs[2] });

    // Deleting an unread message lowers the count.
    expect(await command(b.socket, 'message:delete', { seq: seqs[4] })).toMatchObject({ ok: true });
    expect(await myRoom(alice, roomId)).toMatchObject({ unread: 1, lastReadSeq: seqs[2] });
    // Marks are not room history: the delete took the only new seq.
    expect((await myRoom(alice, roomId)).headSeq).toBe(headBefore + 1);

    // A mark past the head is capped at the head; then nothing is unread.
    const capped = await command(a.socket, 'read:mark', { seq: 1_000_000 });
    expect(capped).toEqual({ ok: true, lastReadSeq: headBefore + 1 });
    expect(await myRoom(alice, roomId)).toMatchObject({ unread: 0, lastReadSeq: headBefore + 1 });

    for (const bad of [{}, { seq: -1 }, { seq: 1.5 }, { seq: '3' }, { seq: 3, extra: true }, null]) {
      expect(await command(a.socket, 'read:mark', bad)).toMatchObject({ ok: false, error: { code: 'invalid' } });
    }
  });

  it('acceptance 5: search finds current text newest first, never edited-away words or deleted messages, never a private room to a non-member', async () => {
    const tag = `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const roomId = await createRoom(alice);
    const a = await enter(alice, roomId);
    const first = await send(a, `the quick brown fox ${tag}`);
    const editedAway = await send(a, `a fox that will be edited ${tag}`);
    await send(a, `a lazy dog ${tag}`);
    const deleted = await send(a, `a fox that will be deleted ${tag}`);
    const last = await send(a, `Fox at the end ${tag}`);
    expect(await command(a.socket, 'message:edit', { seq: editedAway, text: `now about a cat ${tag}` })).toMatchObject({ ok: true });
    expect(await command(a.socket, 'message:delete', { seq: deleted })).toMatchObject({ ok: true });

    const res = await api.request('GET', `/rooms/${roomId}/search?q=fox`, { token: bob.token });
    expect(res.status).toBe(200);
    expect(res.body.hits.map((h: { seq: number }) => h.seq)).toEqual([last, first]);
    expect(res.body.hits[0]).toEqual({ seq: last, ts: expect.any(String), actor: { id: alice.user.id, username: alice.user.username }, text: `Fox at the end ${tag}` });
    // The edited message matches its current text only.
    const cat = await api.request('GET', `/rooms/${roomId}/search?q=cat`, { token: bob.token });
    expect(cat.body.hits.map((h: { seq: number; text: string }) => [h.seq, h.text])).toEqual([[editedAway, `now about a cat ${tag}`]]);
    // Paging with before.
    const page = await api.request('GET', `/rooms/${roomId}/search?q=fox&limit=1&before=${last}`, { token: bob.token });
    expect(page.body.hits.map((h: { seq: number }) => h.seq)).toEqual([first]);

    // A private room: its member finds its messages in GET /search, a non-member never does.
    const privateId = await createRoom(carol, 'private');
    const c = await enter(carol, privateId);
    const secret = await send(c, `a private fox ${tag}`);
    const forCarol = await api.request('GET', `/search?q=fox%20${tag}`, { token: carol.token });
    expect(forCarol.status).toBe(200);
    expect(forCarol.body.hits.map((h: { roomId: string; seq: number }) => [h.roomId, h.seq])).toEqual([
      [privateId, secret],
      [roomId, last],
      [roomId, first],
    ]);
    expect(forCarol.body.hits[0]).toMatchObject({ roomName: 'read-side private', text: `a private fox ${tag}` });
    const forBob = await api.request('GET', `/search?q=fox%20${tag}`, { token: bob.token });
    expect(forBob.body.hits.map((h: { roomId: string; seq: number }) => [h.roomId, h.seq])).toEqual([
      [roomId, last],
      [roomId, first],
    ]);
    expect((await api.request('GET', `/rooms/${privateId}/search?q=fox`, { token: bob.token })).status).toBe(403);

    // A ban closes the room to its search at once, in both endpoints.
    expect(await command(a.socket, 'member:ban', { userId: bob.user.id })).toMatchObject({ ok: true });
    expect((await api.request('GET', `/rooms/${roomId}/search?q=fox`, { token: bob.token })).status).toBe(403);
    expect((await api.request('GET', `/search?q=fox%20${tag}`, { token: bob.token })).body.hits).toEqual([]);
  });

  it('validates search queries at the edge', async () => {
    const roomId = await createRoom(alice);
    for (const query of ['', 'q=', `q=${'x'.repeat(201)}`, 'q=fox&limit=0', 'q=fox&limit=101', 'q=fox&before=-1', 'q=fox&page=2']) {
      const res = await api.request('GET', `/rooms/${roomId}/search?${query}`, { token: alice.token });
      expect([query, res.status, res.body.error?.code]).toEqual([query, 400, 'invalid']);
    }
    expect((await api.request('GET', '/search?q=fox&before=3', { token: alice.token })).status).toBe(400);
    expect((await api.request('GET', `/rooms/${randomUUID()}/search?q=fox`, { token: alice.token })).status).toBe(404);
    expect((await api.request('GET', '/search?q=fox')).status).toBe(401);
  });
});
