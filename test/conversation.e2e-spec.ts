/**
 * Conversation features, room side (issue 11, acceptance 1–3), end to end: real API and gateway
 * processes, real Postgres, Redis and S3, users on socket.io-client and on the client library.
 * 1. replies carry `replyTo`, a reply to a missing or deleted message is `not_found`;
 * 2. reactions: a duplicate writes nothing (ack `seq: null`), removal writes `reaction.removed`,
 *    the folded reactions after a kill -9 failover equal those before it;
 * 3. typing reaches the other member within 1 s, lapses within 6 s, never enters the log.
 */
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Pool } from 'pg';
import { applyEvent, decodeSnapshotDocument, emptyRoomState, serializeRoomState, SNAPSHOT_FORMAT, type EventEnvelope } from '../libs/domain/src';
import { createClient, type Client, type PresenceUser } from '../libs/client/src';
import { ApiClient, RoomMember, type ChatSocket, type TestUser } from './support/client';
import { logOf, makeAdmin, snapshotsOf } from './support/fault';
import { startWorker } from './support/worker';
import { reportFigure } from './support/figures';
import { baseEnv, waitFor } from './support/processes';
import { TestStack } from './support/stack';

jest.setTimeout(180_000);

type Ack = { ok: true; seq: number | null; ts?: string } | { ok: false; error: { code: string; message: string } };

describe('conversation: replies, reactions, typing (e2e)', () => {
  let stack: TestStack;
  let api: ApiClient;
  let pool: Pool;
  let alice: TestUser;
  let bob: TestUser;
  const open: Array<{ close(): void }> = [];

  beforeAll(async () => {
    stack = await TestStack.start({
      name: 'conversation',
      gateways: 2,
      env: { RATE_LIMIT_MSG_PER_SEC: '0', GATEWAY_TTL_SECONDS: '2', SNAPSHOT_EVERY_EVENTS: '1000', SNAPSHOT_INTERVAL_MS: '300' },
    });
    api = new ApiClient(stack.apiUrl);
    pool = new Pool({ connectionString: baseEnv().DATABASE_URL, max: 2 });
    [alice, bob] = await Promise.all([api.register('alice'), api.register('bob')]);
  });

  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });

  function library(user: TestUser): Client {
    const c = createClient({ baseUrl: stack.apiUrl, token: user.token });
    open.push(c);
    return c;
  }

  afterAll(async () => {
    for (const s of open.splice(0)) s.close();
    await pool?.end();
    await stack?.stop();
  });

  async function enter(user: TestUser, roomId: string): Promise<RoomMember> {
    const m = await RoomMember.enter(api, user, roomId);
    open.push(m);
    return m;
  }

  function command(socket: ChatSocket, event: string, payload: unknown): Promise<Ack> {
    return (socket as any).timeout(10_000).emitWithAck(event, payload);
  }

  async function post(m: RoomMember, text: string, replyTo?: number): Promise<Ack> {
    const payload: Record<string, unknown> = { clientMsgId: `c-${Math.random()}`, text };
    if (replyTo !== undefined) payload.replyTo = replyTo;
    return command(m.socket, 'message:send', payload);
  }

  function seqOf(ack: Ack): number {
    if (!ack.ok || ack.seq === null) throw new Error(`expected a committed ack, got ${JSON.stringify(ack)}`);
    return ack.seq;
  }

  async function events(roomId: string, token: string): Promise<EventEnvelope[]> {
    const res = await api.request('GET', `/rooms/${roomId}/events?after=0&limit=500`, { token });
    expect(res.status).toBe(200);
    return res.body.events;
  }

  /** The reactions the log folds to (the gateway's rule, run here over the log as stored). */
  function reactionsOfLog(roomId: string, log: EventEnvelope[]) {
    const state = emptyRoomState(roomId);
    for (const e of log) applyEvent(state, e);
    return serializeRoomState(state).reactions;
  }

  async function snapshotReactions(roomId: string, row: { key: string; seq: number }) {
    const object = await stack.s3!.client().send(new GetObjectCommand({ Bucket: stack.s3!.bucket, Key: row.key }));
    const text = gunzipSync(Buffer.from(await object.Body!.transformToByteArray())).toString('utf8');
    expect(JSON.parse(text).format).toBe(SNAPSHOT_FORMAT);
    return serializeRoomState(decodeSnapshotDocument(text, { roomId, seq: row.seq })).reactions;
  }

  it('acceptance 1: a reply carries replyTo; a reply to a missing or deleted message is not_found', async () => {
    const room = await api.createRoom(alice.token, 'replies');
    const a = await enter(alice, room.id);
    const b = await enter(bob, room.id);
    const first = seqOf(await post(a, 'the quick brown fox'));
    const reply = seqOf(await post(b, 'jumps over', first));
    const gone = seqOf(await post(a, 'to be deleted'));
    expect((await command(a.socket, 'message:delete', { seq: gone })).ok).toBe(true);

    expect(await post(b, 'to nothing', 9_999)).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await post(b, 'to a deleted one', gone)).toMatchObject({ ok: false, error: { code: 'not_found' } });
    // A seq that is not a message (room.created, member.joined) is not a reply target either.
    expect(await post(b, 'to the room', 1)).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await post(b, 'bad', -1)).toMatchObject({ ok: false, error: { code: 'invalid' } });

    const log = await events(room.id, alice.token);
    const posted = log.find((e) => e.seq === reply)!;
    expect(posted).toMatchObject({ type: 'message.posted', data: { text: 'jumps over', replyTo: first } });
    // The live broadcast carries it too, and the refused replies wrote nothing.
    await waitFor('the reply live at alice', async () => a.events.find((e) => e.seq === reply));
    expect(a.events.find((e) => e.seq === reply)!.data).toEqual({ text: 'jumps over', replyTo: first });
    expect(log.filter((e) => e.type === 'message.posted').map((e) => (e.data as { text: string }).text)).toEqual(['the quick brown fox', 'jumps over', 'to be deleted']);
  });

  it('acceptance 2: one event per reaction, duplicates ack seq null, removal is reaction.removed; the fold survives kill -9', async () => {
    const room = await api.createRoom(alice.token, 'reactions');
    let a = await enter(alice, room.id);
    let b = await enter(bob, room.id);
    const m1 = seqOf(await post(a, 'react to me'));
    const m2 = seqOf(await post(b, 'and me'));

    const added = await command(b.socket, 'reaction:add', { seq: m1, emoji: '👍' });
    expect(added).toMatchObject({ ok: true, seq: expect.any(Number), ts: expect.any(String) });
    expect(await command(b.socket, 'reaction:add', { seq: m1, emoji: '👍' })).toEqual({ ok: true, seq: null });
    seqOf(await command(a.socket, 'reaction:add', { seq: m1, emoji: '👍' }));
    seqOf(await command(a.socket, 'reaction:add', { seq: m2, emoji: ':tada:' }));
    seqOf(await command(b.socket, 'reaction:add', { seq: m2, emoji: '🔥' }));
    const removed = seqOf(await command(a.socket, 'reaction:remove', { seq: m2, emoji: ':tada:' }));
    expect(await command(a.socket, 'reaction:remove', { seq: m2, emoji: ':tada:' })).toEqual({ ok: true, seq: null });
    expect(await command(a.socket, 'reaction:add', { seq: 9_999, emoji: '👍' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await command(a.socket, 'reaction:add', { seq: m1, emoji: 'not an emoji' })).toMatchObject({ ok: false, error: { code: 'invalid' } });

    let log = await events(room.id, alice.token);
    const reactionEvents = log.filter((e) => e.type.startsWith('reaction.'));
    expect(reactionEvents.map((e) => [e.type, e.actor!.id, e.data])).toEqual([
      ['reaction.added', bob.user.id, { seq: m1, emoji: '👍' }],
      ['reaction.added', alice.user.id, { seq: m1, emoji: '👍' }],
      ['reaction.added', alice.user.id, { seq: m2, emoji: ':tada:' }],
      ['reaction.added', bob.user.id, { seq: m2, emoji: '🔥' }],
      ['reaction.removed', alice.user.id, { seq: m2, emoji: ':tada:' }],
    ]);
    expect(log.find((e) => e.seq === removed)!.type).toBe('reaction.removed');

    // Before: the owner's own folded state, as its snapshot at the head writes it.
    const head = log[log.length - 1]!.seq;
    const before = await waitFor('the owner to snapshot the head', async () => (await snapshotsOf(pool, room.id)).find((s) => s.seq === head));
    const reactionsBefore = await snapshotReactions(room.id, before);
    expect(reactionsBefore).toEqual([
      [m1, [['👍', [bob.user.id, alice.user.id]]]],
      [m2, [['🔥', [bob.user.id]]]],
    ]);
    expect(reactionsBefore).toEqual(reactionsOfLog(room.id, log));

    // A tail beyond that snapshot, then at once kill -9 of the owner (it snapshots every 300 ms:
    // usually the tail is not in a snapshot yet, and the next owner folds it from the log).
    const owner = (await api.connection(alice.token, room.id)).gatewayId;
    seqOf(await command(b.socket, 'reaction:remove', { seq: m1, emoji: '👍' }));
    seqOf(await command(b.socket, 'reaction:add', { seq: m1, emoji: '❤️' }));
    await stack.killGateway(owner);
    log = await events(room.id, alice.token);
    const reactionsAtKill = reactionsOfLog(room.id, log);
    a.close();
    b.close();

    // After: another gateway loads the room (snapshot + the log's tail) and holds the same reactions.
    const survivor = await waitFor('another gateway to take the room', async () => {
      const info = await api.connection(alice.token, room.id).catch(() => undefined);
      return info && info.gatewayId !== owner ? info.gatewayId : undefined;
    }, 30_000, 200);
    a = await enter(alice, room.id);
    b = await enter(bob, room.id);
    expect(survivor).not.toBe(owner);
    // Its fold knows them: a duplicate is refused from memory, an absent one too.
    expect(await command(a.socket, 'reaction:add', { seq: m1, emoji: '👍' })).toEqual({ ok: true, seq: null });
    expect(await command(b.socket, 'reaction:add', { seq: m1, emoji: '❤️' })).toEqual({ ok: true, seq: null });
    expect(await command(b.socket, 'reaction:remove', { seq: m1, emoji: '👍' })).toEqual({ ok: true, seq: null });
    expect(await command(a.socket, 'reaction:remove', { seq: m2, emoji: ':tada:' })).toEqual({ ok: true, seq: null });
    // And its own snapshot at the head (the joins added member.joined events only) holds exactly them.
    const newHead = (await events(room.id, alice.token)).at(-1)!.seq;
    const after = await waitFor('the new owner to snapshot the head', async () => (await snapshotsOf(pool, room.id)).find((s) => s.seq === newHead), 15_000);
    expect(await snapshotReactions(room.id, after)).toEqual(reactionsAtKill);
    expect(reactionsAtKill).toEqual([
      [m1, [['👍', [alice.user.id]], ['❤️', [bob.user.id]]]],
      [m2, [['🔥', [bob.user.id]]]],
    ]);
    // The killed gateway comes back for the next tests.
    await stack.startGateway(owner);
  });

  it('acceptance 2: a muted member cannot react', async () => {
    const room = await api.createRoom(alice.token, 'muted reactions');
    const a = await enter(alice, room.id);
    const b = await enter(bob, room.id);
    const m1 = seqOf(await post(a, 'hello'));
    expect((await command(a.socket, 'member:mute', { userId: bob.user.id, seconds: 60 })).ok).toBe(true);
    expect(await command(b.socket, 'reaction:add', { seq: m1, emoji: '👍' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect((await events(room.id, alice.token)).filter((e) => e.type.startsWith('reaction.'))).toEqual([]);
  });

  it('acceptance 3: typing reaches the other member within 1 s, lapses within 6 s, and is never logged', async () => {
    const room = await api.createRoom(alice.token, 'typing');
    const a = await enter(alice, room.id);
    const b = await enter(bob, room.id);
    const seen: Array<{ at: number; users: Array<{ id: string }> }> = [];
    b.socket.on('room:typing' as any, (p: { users: Array<{ id: string }> }) => seen.push({ at: performance.now(), users: p.users }));
    const headBefore = (await events(room.id, alice.token)).at(-1)!.seq;

    const started = performance.now();
    expect(await command(a.socket, 'typing', { active: true })).toEqual({ ok: true });
    const shown = await waitFor('bob to see alice typing', async () => seen.find((s) => s.users.some((u) => u.id === alice.user.id)), 1_000, 10);
    reportFigure('conversation', 'typing: shown at the other member', (shown.at - started) / 1000, 's');
    // A renewal within the lapse changes nothing: no second room:typing.
    expect(await command(a.socket, 'typing', { active: true })).toEqual({ ok: true });
    const lapsed = await waitFor('alice typing to lapse', async () => seen.find((s) => s.at > shown.at && s.users.length === 0), 6_500, 20);
    expect(lapsed.at - started).toBeLessThan(6_000 + 500); // lapses 5 s after the renewal
    expect(seen.filter((s) => s.users.length > 0)).toHaveLength(1);

    // Stopping explicitly, and the last socket leaving, end it at once.
    await command(a.socket, 'typing', { active: true });
    await waitFor('typing again', async () => seen.at(-1)!.users.length === 1, 1_000, 10);
    a.close();
    await waitFor('typing to end when alice leaves', async () => seen.at(-1)!.users.length === 0, 1_000, 10);

    // Never logged.
    const log = await logOf(pool, room.id);
    expect(log.filter((r) => r.type.includes('typing'))).toEqual([]);
    expect(log.at(-1)!.seq).toBe(headBefore);
    // The payload is checked at the edge.
    expect(await command(b.socket, 'typing', { active: 'yes' })).toMatchObject({ ok: false, error: { code: 'invalid' } });
  });

  it('the client library: send with replyTo, react / unreact, typing and its event, end to end', async () => {
    const room = await api.createRoom(alice.token, 'library conversation');
    const a = library(alice).room(room.id);
    const b = library(bob).room(room.id);
    const aEvents: EventEnvelope[] = [];
    const aTyping: PresenceUser[][] = [];
    a.on('event', (e) => aEvents.push(e));
    a.on('typing', (users) => aTyping.push(users));
    await a.join({ afterSeq: 0 });
    await b.join({ afterSeq: 0 });

    const first = await a.send('first');
    const reply = await b.send('a reply', { replyTo: first.seq });
    await expect(b.send('to nowhere', { replyTo: 9_999 })).rejects.toMatchObject({ code: 'not_found' });
    const added = await b.react(first.seq, '👍');
    expect(added).toEqual({ seq: expect.any(Number), ts: expect.any(String) });
    expect(await b.react(first.seq, '👍')).toEqual({ seq: null });
    const removed = await b.unreact(first.seq, '👍');
    expect(removed.seq).toBeGreaterThan(added.seq!);
    expect(await b.unreact(first.seq, '👍')).toEqual({ seq: null });

    await waitFor('alice to get every event', async () => aEvents.some((e) => e.seq === removed.seq));
    expect(aEvents.find((e) => e.seq === reply.seq)!.data).toEqual({ text: 'a reply', replyTo: first.seq });
    expect(aEvents.filter((e) => e.type.startsWith('reaction.')).map((e) => [e.seq, e.type, e.data])).toEqual([
      [added.seq, 'reaction.added', { seq: first.seq, emoji: '👍' }],
      [removed.seq, 'reaction.removed', { seq: first.seq, emoji: '👍' }],
    ]);

    await b.typing(true);
    await waitFor('alice to see bob typing', async () => aTyping.at(-1)?.some((u) => u.id === bob.user.id), 1_000, 10);
    await b.typing(false);
    await waitFor('bob to stop typing', async () => aTyping.at(-1)?.length === 0, 1_000, 10);
  });

  it('exports contain the new events (replies, reaction.added, reaction.removed) exactly as the history API gives them', async () => {
    const admin = await makeAdmin(stack, api);
    const worker = await startWorker('conversation-worker', stack.env({ COLD_SNAPSHOT_SWEEP_MS: '0' }));
    open.push({ close: () => void worker.stop() });
    const room = await api.createRoom(alice.token, 'export conversation');
    const a = await enter(alice, room.id);
    const first = seqOf(await post(a, 'first'));
    seqOf(await post(a, 'reply', first));
    seqOf(await command(a.socket, 'reaction:add', { seq: first, emoji: '👍' }));
    seqOf(await command(a.socket, 'reaction:remove', { seq: first, emoji: '👍' }));
    const history = await events(room.id, alice.token);
    expect(history.map((e) => e.type)).toEqual(['room.created', 'message.posted', 'message.posted', 'reaction.added', 'reaction.removed']);

    const requested = await api.request('POST', `/admin/rooms/${room.id}/exports`, { token: admin.token, body: { format: 'ndjson' } });
    expect(requested.status).toBe(202);
    const id = requested.body.export.id as string;
    await waitFor('the export to be done', async () => {
      const view = await api.request('GET', `/admin/exports/${id}`, { token: admin.token });
      if (view.body.export.status === 'failed') throw new Error(`export failed: ${JSON.stringify(view.body)}`);
      return view.body.export.status === 'done';
    }, 60_000, 100);
    const res = await fetch(`${stack.apiUrl}/admin/exports/${id}/download`, { headers: { authorization: `Bearer ${admin.token}` } });
    expect(res.status).toBe(200);
    const lines = gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toEqual(history.map((e) => JSON.stringify(e)));
  });
});
