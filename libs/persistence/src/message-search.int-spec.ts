import { randomUUID } from 'node:crypto';
import { Database } from './database';
import { EventLogRepository, type NewEvent } from './event-log.repository';
import { MessageSearchRepository, UNREAD_SQL } from './message-search.repository';
import { ReadMarkerRepository } from './read-marker.repository';
import { RoomRepository } from './room.repository';
import { UserRepository, type UserRecord } from './user.repository';

/**
 * The message projection (`room_messages`) written by the append statement under the epoch
 * fence, its search and unread reads, and read markers. Real Postgres, own users and rooms.
 */
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/durable_rooms_test';

let db: Database;
let rooms: RoomRepository;
let log: EventLogRepository;
let search: MessageSearchRepository;
let markers: ReadMarkerRepository;
let alice: UserRecord;
let bob: UserRecord;

const uniqueName = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
let clock = Date.UTC(2026, 1, 1);
const nextTs = () => new Date((clock += 1000)).toISOString();

const ev = (seq: number, user: UserRecord, type: NewEvent['type'], data: unknown): NewEvent => ({
  seq,
  type,
  actorId: user.id,
  actorUsername: user.username,
  clientMsgId: type === 'message.posted' ? randomUUID() : null,
  data,
  ts: nextTs(),
});
const post = (seq: number, user: UserRecord, text: string) => ev(seq, user, 'message.posted', { text });
const edit = (seq: number, user: UserRecord, target: number, text: string) => ev(seq, user, 'message.edited', { seq: target, text });
const del = (seq: number, user: UserRecord, target: number) => ev(seq, user, 'message.deleted', { seq: target });

async function leasedRoom(): Promise<{ roomId: string; epoch: number }> {
  const { room } = await rooms.create(uniqueName('room'), alice);
  const lease = await rooms.takeLease(room.id, 'gw-test');
  return { roomId: room.id, epoch: lease!.epoch };
}

async function projection(roomId: string): Promise<Array<{ seq: number; text: string; actor_id: string }>> {
  const { rows } = await db.pool.query('SELECT seq, text, actor_id FROM room_messages WHERE room_id = $1 ORDER BY seq', [roomId]);
  return rows;
}

beforeAll(async () => {
  db = new Database(DATABASE_URL, { applicationName: 'message-search-int-spec' });
  const users = new UserRepository(db);
  rooms = new RoomRepository(db);
  log = new EventLogRepository(db);
  search = new MessageSearchRepository(db);
  markers = new ReadMarkerRepository(db);
  alice = await users.create(uniqueName('alice'), 'not-a-real-hash');
  bob = await users.create(uniqueName('bob'), 'not-a-real-hash');
});

afterAll(async () => {
  await db?.close();
});

describe('message projection in the append statement', () => {
  it('holds each message with its current text: edits applied, deletes removed, across batches', async () => {
    const r = await leasedRoom();
    await log.appendBatch([{ roomId: r.roomId, epoch: r.epoch, events: [post(2, alice, 'quick fox'), post(3, bob, 'lazy dog'), post(4, bob, 'gone soon')] }]);
    await log.appendBatch([{ roomId: r.roomId, epoch: r.epoch, events: [edit(5, alice, 2, 'quick cat'), edit(6, alice, 2, 'quick bird'), del(7, bob, 4)] }]);
    expect(await projection(r.roomId)).toEqual([
      { seq: 2, text: 'quick bird', actor_id: alice.id },
      { seq: 3, text: 'lazy dog', actor_id: bob.id },
    ]);
  });

  it("folds a batch's own edits and deletes of messages it posts (one statement sees no sibling's rows)", async () => {
    const r = await leasedRoom();
    await log.appendBatch([
      { roomId: r.roomId, epoch: r.epoch, events: [post(2, alice, 'first'), edit(3, alice, 2, 'first edited'), post(4, bob, 'second'), del(5, bob, 4), edit(6, alice, 2, 'first final')] },
    ]);
    expect(await projection(r.roomId)).toEqual([{ seq: 2, text: 'first final', actor_id: alice.id }]);
    // An edit then a delete of an earlier batch's message in one batch: the row goes.
    await log.appendBatch([{ roomId: r.roomId, epoch: r.epoch, events: [edit(7, alice, 2, 'again'), del(8, alice, 2)] }]);
    expect(await projection(r.roomId)).toEqual([]);
  });

  it('a fenced room writes no projection rows, while the other room of the same batch does', async () => {
    const stale = await leasedRoom();
    const live = await leasedRoom();
    await log.appendBatch([{ roomId: stale.roomId, epoch: stale.epoch, events: [post(2, alice, 'kept text')] }]);
    await rooms.takeLease(stale.roomId, 'gw-new');
    const outcome = await log.appendBatch([
      { roomId: stale.roomId, epoch: stale.epoch, events: [post(3, alice, 'fenced fox'), edit(4, alice, 2, 'fenced edit'), del(5, alice, 2)] },
      { roomId: live.roomId, epoch: live.epoch, events: [post(2, bob, 'live fox')] },
    ]);
    expect(outcome.get(stale.roomId)).toBe('fenced');
    expect(outcome.get(live.roomId)).toBe('committed');
    expect(await projection(stale.roomId)).toEqual([{ seq: 2, text: 'kept text', actor_id: alice.id }]);
    expect(await projection(live.roomId)).toEqual([{ seq: 2, text: 'live fox', actor_id: bob.id }]);
  });

  it('a batch that fails (duplicate clientMsgId) writes no projection rows', async () => {
    const r = await leasedRoom();
    const first = post(2, alice, 'original');
    await log.appendBatch([{ roomId: r.roomId, epoch: r.epoch, events: [first] }]);
    const dup = { ...post(3, alice, 'dup text'), clientMsgId: first.clientMsgId };
    await expect(log.appendBatch([{ roomId: r.roomId, epoch: r.epoch, events: [edit(3, alice, 2, 'x'), { ...dup, seq: 4 }] }])).rejects.toThrow();
    expect(await projection(r.roomId)).toEqual([{ seq: 2, text: 'original', actor_id: alice.id }]);
  });
});

describe(MessageSearchRepository.name, () => {
  it('searchRoom: current text, word by word, newest first, paged with before', async () => {
    const r = await leasedRoom();
    await log.appendBatch([
      {
        roomId: r.roomId,
        epoch: r.epoch,
        events: [post(2, alice, 'the quick brown fox'), post(3, bob, 'a fox again'), post(4, bob, 'no match'), post(5, alice, 'Fox, brown and quick'), edit(6, bob, 3, 'a dog now')],
      },
    ]);
    expect((await search.searchRoom(r.roomId, 'fox', undefined, 10)).map((h) => h.seq)).toEqual([5, 2]);
    expect((await search.searchRoom(r.roomId, 'quick fox', undefined, 10)).map((h) => h.text)).toEqual(['Fox, brown and quick', 'the quick brown fox']);
    expect((await search.searchRoom(r.roomId, 'fox', 5, 10)).map((h) => h.seq)).toEqual([2]);
    expect((await search.searchRoom(r.roomId, 'fox', undefined, 1)).map((h) => h.seq)).toEqual([5]);
    expect(await search.searchRoom(r.roomId, 'dog', undefined, 10)).toEqual([{ seq: 3, ts: expect.any(String), actor: { id: bob.id, username: bob.username }, text: 'a dog now' }]);
    expect(await search.searchRoom(r.roomId, '& | !', undefined, 10)).toEqual([]);
  });

  it('unreadCounts: others\' messages after the marker, in one statement of index-only scans per room', async () => {
    const a = await leasedRoom();
    const b = await leasedRoom();
    await log.appendBatch([
      { roomId: a.roomId, epoch: a.epoch, events: [post(2, bob, 'b1'), post(3, alice, 'mine'), post(4, bob, 'b2'), post(5, bob, 'b3'), del(6, bob, 4)] },
      { roomId: b.roomId, epoch: b.epoch, events: [post(2, bob, 'x')] },
    ]);
    await markers.advance([{ userId: alice.id, roomId: a.roomId, seq: 2 }]);
    const counts = await search.unreadCounts(alice.id, [a.roomId, b.roomId]);
    expect(counts.get(a.roomId)).toEqual({ lastReadSeq: 2, unread: 1 });
    expect(counts.get(b.roomId)).toEqual({ lastReadSeq: 0, unread: 1 });

    // The plan for 500 rooms: the rooms come from one unnest, and each count is an index(-only)
    // range scan of the projection's key, never a scan of the projection (read_markers, one
    // row per room of the user, may be read either way).
    const ids = Array.from({ length: 500 }, () => randomUUID());
    const { rows } = await db.pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${UNREAD_SQL}`, [alice.id, ids]);
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    // Index-only, plain index or bitmap index scan, as the table's statistics and visibility
    // map decide: each a range of the key, never the whole projection.
    expect(plan).toMatch(/(Index Only Scan using|Index Scan using|Bitmap Index Scan on) room_messages_pkey/);
    expect(plan).toMatch(/Index Cond: \(\(room_id = u\.room_id\) AND \(seq > COALESCE\(k\.last_read_seq, 0\)\)\)/);
    expect(plan).not.toMatch(/Seq Scan on room_messages/);
  });

  it('unreadCounts answers 500 rooms with one query', async () => {
    const queries: string[] = [];
    const original = db.pool.query.bind(db.pool);
    const spy = jest.spyOn(db.pool, 'query').mockImplementation(((text: unknown, ...rest: unknown[]) => {
      queries.push(String(typeof text === 'string' ? text : (text as { text: string }).text));
      return (original as (...args: unknown[]) => unknown)(text, ...rest);
    }) as never);
    try {
      const counts = await search.unreadCounts(alice.id, Array.from({ length: 500 }, () => randomUUID()));
      expect(counts.size).toBe(500);
      expect(queries).toHaveLength(1);
    } finally {
      spy.mockRestore();
    }
  });
});

describe(ReadMarkerRepository.name, () => {
  it('never moves a marker back, and returns markers as stored', async () => {
    const r = await leasedRoom();
    expect(await markers.advance([{ userId: bob.id, roomId: r.roomId, seq: 7 }])).toEqual([{ userId: bob.id, roomId: r.roomId, seq: 7 }]);
    expect(await markers.advance([{ userId: bob.id, roomId: r.roomId, seq: 3 }])).toEqual([{ userId: bob.id, roomId: r.roomId, seq: 7 }]);
    expect(await markers.get(bob.id, r.roomId)).toBe(7);
    // A marker takes no room seq.
    expect((await rooms.leaseState(r.roomId))!.headSeq).toBe(1);
  });
});
