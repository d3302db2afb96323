import { randomUUID } from 'node:crypto';
import { Database } from './database';
import { EventLogRepository, type NewEvent } from './event-log.repository';
import { ExportRepository } from './export.repository';
import { RoomRepository } from './room.repository';
import { SnapshotBacklogRepository } from './snapshot-backlog.repository';
import { SnapshotRepository } from './snapshot.repository';
import { UserRepository, type UserRecord } from './user.repository';

/** Real Postgres; every test makes its own users and rooms and removes its rooms afterwards. */
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/durable_rooms_test';

let db: Database;
let users: UserRepository;
let rooms: RoomRepository;
let log: EventLogRepository;
let exports: ExportRepository;
let alice: UserRecord;
const created: string[] = [];

const unique = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
let clock = Date.UTC(2026, 0, 1);
const nextTs = () => new Date((clock += 1000)).toISOString();

/** A room with `count` events in all: room.created, posts (some with clientMsgId, some by no one), an edit and a delete. */
async function roomWithEvents(count: number): Promise<string> {
  const { room } = await rooms.create(unique('export-room'), alice);
  created.push(room.id);
  const lease = (await rooms.takeLease(room.id, 'gw-export-test'))!;
  const events: NewEvent[] = [];
  for (let seq = 2; seq <= count; seq++) {
    const system = seq % 7 === 0;
    const type = seq % 11 === 0 ? 'message.edited' : seq % 13 === 0 ? 'message.deleted' : 'message.posted';
    const data = type === 'message.edited' ? { seq: seq - 1, text: `é "${seq}"` } : type === 'message.deleted' ? { seq: seq - 2 } : { text: `m\n${seq}` };
    events.push({
      seq,
      type,
      actorId: system ? null : alice.id,
      actorUsername: system ? null : alice.username,
      clientMsgId: seq % 2 === 0 && !system ? `c-${seq}` : null,
      data,
      ts: nextTs(),
    });
  }
  for (let i = 0; i < events.length; i += 500) {
    const outcome = await log.appendBatch([{ roomId: room.id, epoch: lease.epoch, events: events.slice(i, i + 500) }]);
    expect(outcome.get(room.id)).toBe('committed');
  }
  return room.id;
}

beforeAll(async () => {
  db = new Database(DATABASE_URL, { applicationName: 'export-repository-int-spec' });
  users = new UserRepository(db);
  rooms = new RoomRepository(db);
  log = new EventLogRepository(db);
  exports = new ExportRepository(db);
  alice = await users.create(unique('alice'), 'not-a-real-hash');
});

afterAll(async () => {
  if (created.length > 0) await db.pool.query('DELETE FROM rooms WHERE id = ANY($1::uuid[])', [created]);
  await db?.close();
});

describe(ExportRepository.name, () => {
  it('creates a queued export and reads it back; unknown and malformed ids are null', async () => {
    const roomId = await roomWithEvents(3);
    const id = randomUUID();
    const record = await exports.create({ id, roomId, format: 'ndjson', headSeq: 3, key: `exports/${roomId}/${id}.ndjson.gz` });
    expect(record).toEqual({
      id,
      roomId,
      format: 'ndjson',
      status: 'queued',
      headSeq: 3,
      events: 0,
      bytes: 0,
      key: `exports/${roomId}/${id}.ndjson.gz`,
      error: null,
      createdAt: expect.any(Date),
      finishedAt: null,
    });
    expect(await exports.get(id)).toEqual(record);
    expect(await exports.get(randomUUID())).toBeNull();
    expect(await exports.get('not-a-uuid')).toBeNull();
  });

  it('goes running → progress → done, and a retry restarts the counters but never undoes done', async () => {
    const roomId = await roomWithEvents(2);
    const id = randomUUID();
    await exports.create({ id, roomId, format: 'ndjson', headSeq: 2, key: 'k' });
    expect(await exports.markRunning(id)).toMatchObject({ status: 'running', events: 0, bytes: 0 });
    await exports.progress(id, 1, 10);
    expect(await exports.get(id)).toMatchObject({ status: 'running', events: 1, bytes: 10 });

    await exports.markRequeued(id, 'attempt 1/5 failed: boom');
    expect(await exports.get(id)).toMatchObject({ status: 'queued', events: 0, bytes: 0, error: 'attempt 1/5 failed: boom' });
    expect(await exports.markRunning(id)).toMatchObject({ status: 'running', events: 0, error: null });

    // bytes is a bigint column: sizes beyond 2^31 round-trip.
    await exports.markDone(id, 2, 5_000_000_000);
    const done = await exports.get(id);
    expect(done).toMatchObject({ status: 'done', events: 2, bytes: 5_000_000_000, error: null });
    expect(done!.finishedAt).toBeInstanceOf(Date);

    expect(await exports.markRunning(id)).toMatchObject({ status: 'done', events: 2 });
    await exports.markFailed(id, 'late failure');
    await exports.markRequeued(id, 'late retry');
    await exports.progress(id, 0, 0);
    expect(await exports.get(id)).toMatchObject({ status: 'done', events: 2, bytes: 5_000_000_000 });
  });

  it('markFailed keeps the reason (truncated) and finishes the export', async () => {
    const roomId = await roomWithEvents(1);
    const id = randomUUID();
    await exports.create({ id, roomId, format: 'ndjson', headSeq: 1, key: 'k' });
    await exports.markRunning(id);
    await exports.markFailed(id, 'x'.repeat(5000));
    const failed = await exports.get(id);
    expect(failed).toMatchObject({ status: 'failed' });
    expect(failed!.error).toHaveLength(1000);
    expect(failed!.finishedAt).toBeInstanceOf(Date);
  });

  it('refuses an unknown room, format or status (foreign key and checks)', async () => {
    await expect(exports.create({ id: randomUUID(), roomId: randomUUID(), format: 'ndjson', headSeq: 1, key: 'k' })).rejects.toThrow();
    const roomId = await roomWithEvents(1);
    await expect(exports.create({ id: randomUUID(), roomId, format: 'csv' as 'ndjson', headSeq: 1, key: 'k' })).rejects.toThrow(/exports_format_check/);
  });

  describe('readPage', () => {
    let roomId: string;
    beforeAll(async () => {
      roomId = await roomWithEvents(1234);
    });

    it('pages the log by keyset up to the head, giving exactly the envelopes EventLogRepository gives', async () => {
      const pages: number[] = [];
      let cursor = 0;
      for (;;) {
        const page = await exports.readPage(roomId, cursor, 1000, 300);
        if (page.length === 0) break;
        expect(page).toEqual(await log.readAfter(roomId, cursor, page.length));
        // Same keys in the same order: the JSON text is identical, not just equal after parsing.
        expect(page.map((e) => JSON.stringify(e))).toEqual((await log.readAfter(roomId, cursor, page.length)).map((e) => JSON.stringify(e)));
        pages.push(page.length);
        cursor = page[page.length - 1]!.seq;
      }
      expect(pages).toEqual([300, 300, 300, 100]);
      expect(cursor).toBe(1000);
    });

    it('stops at the head even when the log has grown past it, and is empty past it', async () => {
      expect((await exports.readPage(roomId, 995, 1000, 5000)).map((e) => e.seq)).toEqual([996, 997, 998, 999, 1000]);
      expect(await exports.readPage(roomId, 1000, 1000, 5000)).toEqual([]);
      expect(await exports.readPage('not-a-uuid', 0, 10, 10)).toEqual([]);
    });

    it('keeps clientMsgId only when set, and a null actor for system events', async () => {
      const page = await exports.readPage(roomId, 0, 14, 100);
      expect(page[0]!.type).toBe('room.created');
      expect(page.find((e) => e.seq === 7)!.actor).toBeNull();
      expect('clientMsgId' in page.find((e) => e.seq === 3)!).toBe(false);
      expect(page.find((e) => e.seq === 4)!.clientMsgId).toBe('c-4');
    });
  });
});

describe(SnapshotBacklogRepository.name, () => {
  it('finds rooms whose tail since their newest snapshot is long enough, longest first', async () => {
    const backlog = new SnapshotBacklogRepository(db);
    const snapshots = new SnapshotRepository(db);
    const long = await roomWithEvents(40);
    const snapshotted = await roomWithEvents(40);
    const short = await roomWithEvents(5);
    const epoch = (await snapshots.currentEpoch(snapshotted))!;
    expect(await snapshots.recordIfCurrent({ roomId: snapshotted, seq: 30, epoch, key: 'k', bytes: 1, checksum: 'c' })).toBe(true);

    // Other suites share the database: look only at this test's rooms.
    const found = (await backlog.roomsWithTail(20, 100_000)).filter((r) => [long, snapshotted, short].includes(r.roomId));
    expect(found).toEqual([{ roomId: long, headSeq: 40, snapshotSeq: 0 }]);
    const withShorter = (await backlog.roomsWithTail(10, 100_000)).filter((r) => [long, snapshotted, short].includes(r.roomId));
    expect(withShorter).toEqual([
      { roomId: long, headSeq: 40, snapshotSeq: 0 },
      { roomId: snapshotted, headSeq: 40, snapshotSeq: 30 },
    ]);
  });
});
