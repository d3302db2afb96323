import { randomUUID } from 'node:crypto';
import { DomainError } from '../../domain/src';
import { Database } from './database';
import { pgErrorCode } from './db-errors';
import { EventLogRepository, FIND_MESSAGE_SQL, type NewEvent } from './event-log.repository';
import { RoomRepository } from './room.repository';
import { UserRepository, type UserRecord } from './user.repository';

/**
 * Real Postgres. Every test creates its own users and rooms with random names and never deletes
 * anything, so it can share the database with the other suites.
 */
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/durable_rooms_test';

let db: Database;
let users: UserRepository;
let rooms: RoomRepository;
let log: EventLogRepository;
let alice: UserRecord;
let bob: UserRecord;

const uniqueName = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`;

/** ms-precision timestamps, one second apart, so the log's created_at round-trips exactly. */
let clock = Date.UTC(2026, 0, 1);
const nextTs = () => new Date((clock += 1000)).toISOString();

function post(seq: number, user: UserRecord, clientMsgId: string | null = randomUUID(), text = `m${seq}`): NewEvent {
  return { seq, type: 'message.posted', actorId: user.id, actorUsername: user.username, clientMsgId, data: { text }, ts: nextTs() };
}

function del(seq: number, target: number, user: UserRecord): NewEvent {
  return { seq, type: 'message.deleted', actorId: user.id, actorUsername: user.username, clientMsgId: null, data: { seq: target }, ts: nextTs() };
}

/** A fresh room whose lease this test holds; returns its id and epoch. */
async function leasedRoom(owner: UserRecord = alice): Promise<{ roomId: string; epoch: number }> {
  const { room } = await rooms.create(uniqueName('room'), owner);
  const lease = await rooms.takeLease(room.id, 'gw-test');
  return { roomId: room.id, epoch: lease!.epoch };
}

async function seqsOf(roomId: string): Promise<number[]> {
  return (await log.readAfter(roomId, 0, 1000)).map((e) => e.seq);
}

async function headOf(roomId: string): Promise<number> {
  return (await rooms.leaseState(roomId))!.headSeq;
}

beforeAll(async () => {
  db = new Database(DATABASE_URL, { applicationName: 'event-log-int-spec' });
  users = new UserRepository(db);
  rooms = new RoomRepository(db);
  log = new EventLogRepository(db);
  alice = await users.create(uniqueName('alice'), 'not-a-real-hash');
  bob = await users.create(uniqueName('bob'), 'not-a-real-hash');
});

afterAll(async () => {
  await db?.close();
});

describe(UserRepository.name, () => {
  it('creates a user and finds it by name', async () => {
    const name = uniqueName('carol');
    const created = await users.create(name, 'hash-1');
    expect(created).toMatchObject({ username: name, passwordHash: 'hash-1', role: 'user' });
    expect(await users.findByUsername(name)).toEqual(created);
  });

  it("a taken username is DomainError 'username_taken'", async () => {
    const name = uniqueName('dup');
    await users.create(name, 'hash-1');
    const err = await users.create(name, 'hash-2').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('username_taken');
    expect((await users.findByUsername(name))?.passwordHash).toBe('hash-1');
  });
});

describe(RoomRepository.name, () => {
  it('create writes room.created at seq 1 and sets the head to 1', async () => {
    const name = uniqueName('general');
    const { room, event } = await rooms.create(name, alice);
    expect(room).toMatchObject({ name, createdBy: alice.id, headSeq: 1, epoch: 0, ownerGatewayId: null });
    expect(event).toEqual({
      roomId: room.id,
      seq: 1,
      type: 'room.created',
      ts: room.createdAt.toISOString(),
      actor: { id: alice.id, username: alice.username },
      data: { name, visibility: 'public' },
    });
    expect(await log.readAfter(room.id, 0, 10)).toEqual([event]);
    expect(await rooms.leaseState(room.id)).toEqual({ epoch: 0, headSeq: 1 });
    expect((await rooms.find(room.id))?.headSeq).toBe(1);
  });

  it('takeLease raises the epoch each time and records the owner', async () => {
    const { room } = await rooms.create(uniqueName('lease'), alice);
    const first = await rooms.takeLease(room.id, 'gw-a');
    const second = await rooms.takeLease(room.id, 'gw-b');
    const creator = { id: alice.id, username: alice.username };
    expect(first).toEqual({ roomId: room.id, name: room.name, epoch: 1, headSeq: 1, creator });
    expect(second).toEqual({ roomId: room.id, name: room.name, epoch: 2, headSeq: 1, creator });
    expect((await rooms.find(room.id))?.ownerGatewayId).toBe('gw-b');
    expect((await rooms.leaseState(room.id))?.epoch).toBe(2);
  });

  it('takeLease of a missing room is null', async () => {
    expect(await rooms.takeLease(randomUUID(), 'gw-a')).toBeNull();
    expect(await rooms.takeLease('not-a-uuid', 'gw-a')).toBeNull();
    expect(await rooms.find('not-a-uuid')).toBeNull();
  });
});

describe(EventLogRepository.name, () => {
  describe('appendBatch', () => {
    it('commits several rooms in one call and advances each head', async () => {
      const r1 = await leasedRoom();
      const r2 = await leasedRoom();
      const r3 = await leasedRoom();

      const outcome = await log.appendBatch([
        { roomId: r1.roomId, epoch: r1.epoch, events: [post(2, alice), post(3, bob)] },
        { roomId: r2.roomId, epoch: r2.epoch, events: [post(2, bob)] },
        { roomId: r3.roomId, epoch: r3.epoch, events: [post(2, alice), post(3, alice), post(4, bob)] },
      ]);

      expect(Object.fromEntries(outcome)).toEqual({ [r1.roomId]: 'committed', [r2.roomId]: 'committed', [r3.roomId]: 'committed' });
      expect(await headOf(r1.roomId)).toBe(3);
      expect(await headOf(r2.roomId)).toBe(2);
      expect(await headOf(r3.roomId)).toBe(4);
      expect(await seqsOf(r1.roomId)).toEqual([1, 2, 3]);
      expect(await seqsOf(r3.roomId)).toEqual([1, 2, 3, 4]);
    });

    it('stores the event exactly as given', async () => {
      const r = await leasedRoom();
      const event = post(2, bob, 'client-id-1', 'hello, world');
      await log.appendBatch([{ roomId: r.roomId, epoch: r.epoch, events: [event] }]);
      const [stored] = await log.readAfter(r.roomId, 1, 10);
      expect(stored).toEqual({
        roomId: r.roomId,
        seq: 2,
        type: 'message.posted',
        ts: event.ts,
        actor: { id: bob.id, username: bob.username },
        data: { text: 'hello, world' },
        clientMsgId: 'client-id-1',
      });
    });

    it("fences an append carrying an old epoch and writes nothing", async () => {
      const r = await leasedRoom();
      await log.appendBatch([{ roomId: r.roomId, epoch: r.epoch, events: [post(2, alice)] }]);
      const newer = await rooms.takeLease(r.roomId, 'gw-new');
      expect(newer!.epoch).toBe(r.epoch + 1);

      const outcome = await log.appendBatch([{ roomId: r.roomId, epoch: r.epoch, events: [post(3, alice)] }]);

      expect(outcome.get(r.roomId)).toBe('fenced');
      expect(await seqsOf(r.roomId)).toEqual([1, 2]);
      expect(await rooms.leaseState(r.roomId)).toEqual({ epoch: newer!.epoch, headSeq: 2 });
      // The new owner continues where the log ends.
      const next = await log.appendBatch([{ roomId: r.roomId, epoch: newer!.epoch, events: [post(3, bob)] }]);
      expect(next.get(r.roomId)).toBe('committed');
    });

    it('fences an append from a newer epoch than the room holds', async () => {
      const r = await leasedRoom();
      const outcome = await log.appendBatch([{ roomId: r.roomId, epoch: r.epoch + 1, events: [post(2, alice)] }]);
      expect(outcome.get(r.roomId)).toBe('fenced');
      expect(await seqsOf(r.roomId)).toEqual([1]);
    });

    it('fences an append that leaves a gap after the head, while other rooms of the batch commit', async () => {
      const gap = await leasedRoom();
      const ok = await leasedRoom();

      const outcome = await log.appendBatch([
        { roomId: gap.roomId, epoch: gap.epoch, events: [post(3, alice), post(4, alice)] },
        { roomId: ok.roomId, epoch: ok.epoch, events: [post(2, bob)] },
      ]);

      expect(outcome.get(gap.roomId)).toBe('fenced');
      expect(outcome.get(ok.roomId)).toBe('committed');
      expect(await seqsOf(gap.roomId)).toEqual([1]);
      expect(await headOf(gap.roomId)).toBe(1);
      expect(await seqsOf(ok.roomId)).toEqual([1, 2]);
    });

    it('fences an append that overlaps the head, while other rooms of the batch commit', async () => {
      const overlap = await leasedRoom();
      const ok = await leasedRoom();
      await log.appendBatch([{ roomId: overlap.roomId, epoch: overlap.epoch, events: [post(2, alice), post(3, alice)] }]);
      const before = await log.readAfter(overlap.roomId, 0, 10);

      const outcome = await log.appendBatch([
        { roomId: ok.roomId, epoch: ok.epoch, events: [post(2, bob), post(3, bob)] },
        { roomId: overlap.roomId, epoch: overlap.epoch, events: [post(3, bob), post(4, bob)] },
      ]);

      expect(outcome.get(overlap.roomId)).toBe('fenced');
      expect(outcome.get(ok.roomId)).toBe('committed');
      expect(await log.readAfter(overlap.roomId, 0, 10)).toEqual(before);
      expect(await headOf(overlap.roomId)).toBe(3);
      expect(await seqsOf(ok.roomId)).toEqual([1, 2, 3]);
    });

    // Gap-freedom is the store's job (DESIGN.md invariant 2): a batch whose events skip a seq
    // must not move the head past a hole, even though it starts right after the head.
    it('fences a batch whose events skip a seq inside it', async () => {
      const r = await leasedRoom();
      const outcome = await log.appendBatch([{ roomId: r.roomId, epoch: r.epoch, events: [post(2, alice), post(4, alice)] }]);
      expect(outcome.get(r.roomId)).toBe('fenced');
      expect(await seqsOf(r.roomId)).toEqual([1]);
      expect(await headOf(r.roomId)).toBe(1);
    });

    it('fences an append for a room that does not exist', async () => {
      const missing = randomUUID();
      const outcome = await log.appendBatch([{ roomId: missing, epoch: 1, events: [post(1, alice)] }]);
      expect(outcome.get(missing)).toBe('fenced');
      expect(await log.readAfter(missing, 0, 10)).toEqual([]);
    });

    it("a duplicate (room, actor, clientMsgId) throws pg '23505' and writes nothing of that batch", async () => {
      const dup = await leasedRoom();
      const other = await leasedRoom();
      await log.appendBatch([{ roomId: dup.roomId, epoch: dup.epoch, events: [post(2, alice, 'same-id')] }]);

      const err = await log
        .appendBatch([
          { roomId: other.roomId, epoch: other.epoch, events: [post(2, bob)] },
          { roomId: dup.roomId, epoch: dup.epoch, events: [post(3, bob, 'fresh-id'), post(4, alice, 'same-id')] },
        ])
        .catch((e: unknown) => e);

      expect(pgErrorCode(err)).toBe('23505');
      expect(await seqsOf(dup.roomId)).toEqual([1, 2]);
      expect(await headOf(dup.roomId)).toBe(2);
      expect(await seqsOf(other.roomId)).toEqual([1]);
      expect(await headOf(other.roomId)).toBe(1);
    });

    it('the same clientMsgId from another user or in another room is not a duplicate', async () => {
      const r1 = await leasedRoom();
      const r2 = await leasedRoom();
      const outcome = await log.appendBatch([
        { roomId: r1.roomId, epoch: r1.epoch, events: [post(2, alice, 'shared'), post(3, bob, 'shared')] },
        { roomId: r2.roomId, epoch: r2.epoch, events: [post(2, alice, 'shared')] },
      ]);
      expect([...outcome.values()]).toEqual(['committed', 'committed']);
    });
  });

  describe('reading', () => {
    let roomId: string;

    beforeAll(async () => {
      const r = await leasedRoom();
      roomId = r.roomId;
      const events = Array.from({ length: 10 }, (_, i) => post(i + 2, i % 2 === 0 ? alice : bob));
      await log.appendBatch([{ roomId, epoch: r.epoch, events }]);
    });

    it('readAfter returns events after a seq, ascending, at most limit', async () => {
      expect((await log.readAfter(roomId, 3, 4)).map((e) => e.seq)).toEqual([4, 5, 6, 7]);
      expect((await log.readAfter(roomId, 9, 100)).map((e) => e.seq)).toEqual([10, 11]);
      expect(await log.readAfter(roomId, 11, 100)).toEqual([]);
    });

    it('readBefore returns the latest events before a seq, in ascending order, at most limit', async () => {
      expect((await log.readBefore(roomId, undefined, 3)).map((e) => e.seq)).toEqual([9, 10, 11]);
      expect((await log.readBefore(roomId, 5, 10)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect((await log.readBefore(roomId, 8, 2)).map((e) => e.seq)).toEqual([6, 7]);
      expect(await log.readBefore(roomId, 1, 10)).toEqual([]);
    });

    it('paging backwards and forwards covers the log exactly once', async () => {
      const backwards: number[] = [];
      let before: number | undefined;
      for (;;) {
        const page = await log.readBefore(roomId, before, 3);
        if (page.length === 0) break;
        backwards.unshift(...page.map((e) => e.seq));
        before = page[0]!.seq;
      }
      const forwards: number[] = [];
      let after = 0;
      for (;;) {
        const page = await log.readAfter(roomId, after, 4);
        if (page.length === 0) break;
        forwards.push(...page.map((e) => e.seq));
        after = page[page.length - 1]!.seq;
      }
      const all = Array.from({ length: 11 }, (_, i) => i + 1);
      expect(backwards).toEqual(all);
      expect(forwards).toEqual(all);
    });

    it('does not return events of other rooms', async () => {
      const other = await leasedRoom();
      await log.appendBatch([{ roomId: other.roomId, epoch: other.epoch, events: [post(2, alice)] }]);
      expect((await log.readAfter(roomId, 0, 100)).every((e) => e.roomId === roomId)).toBe(true);
      expect((await log.readAfter(other.roomId, 0, 100)).map((e) => e.seq)).toEqual([1, 2]);
    });
  });

  describe('findMessage', () => {
    it('returns the author, and deleted after a message.deleted event', async () => {
      const r = await leasedRoom();
      await log.appendBatch([{ roomId: r.roomId, epoch: r.epoch, events: [post(2, alice), post(3, bob), post(4, alice)] }]);

      expect(await log.findMessage(r.roomId, 2)).toEqual({ authorId: alice.id, deleted: false });
      expect(await log.findMessage(r.roomId, 3)).toEqual({ authorId: bob.id, deleted: false });

      await log.appendBatch([{ roomId: r.roomId, epoch: r.epoch, events: [del(5, 2, alice)] }]);

      expect(await log.findMessage(r.roomId, 2)).toEqual({ authorId: alice.id, deleted: true });
      expect(await log.findMessage(r.roomId, 4)).toEqual({ authorId: alice.id, deleted: false });
    });

    it('is null for a non-message seq, a seq beyond the head, and a bad room id', async () => {
      const r = await leasedRoom();
      await log.appendBatch([{ roomId: r.roomId, epoch: r.epoch, events: [post(2, alice), del(3, 2, alice)] }]);
      expect(await log.findMessage(r.roomId, 1)).toBeNull();
      expect(await log.findMessage(r.roomId, 3)).toBeNull();
      expect(await log.findMessage(r.roomId, 99)).toBeNull();
      expect(await log.findMessage('not-a-uuid', 2)).toBeNull();
      expect(await log.findMessage(randomUUID(), 2)).toBeNull();
    });

    it('reads a bounded number of rows however long the room has grown since the message', async () => {
      const r = await leasedRoom();
      const later = Array.from({ length: 2_000 }, (_, i) => post(3 + i, bob));
      await log.appendBatch([{ roomId: r.roomId, epoch: r.epoch, events: [post(2, alice), ...later] }]);
      await log.appendBatch([{ roomId: r.roomId, epoch: r.epoch, events: [del(2_003, 2, alice)] }]);
      expect(await log.findMessage(r.roomId, 2)).toEqual({ authorId: alice.id, deleted: true });

      // Every row any plan node produced or filtered away: a lookup by key, not a range of the log.
      const { rows } = await db.pool.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${FIND_MESSAGE_SQL}`, [r.roomId, 2]);
      const rowsTouched = (node: Record<string, unknown>): number =>
        Number(node['Actual Rows'] ?? 0) * Number(node['Actual Loops'] ?? 1) +
        Number(node['Rows Removed by Filter'] ?? 0) +
        ((node['Plans'] as Array<Record<string, unknown>> | undefined) ?? []).reduce((sum, child) => sum + rowsTouched(child), 0);
      const plan = (rows[0]!['QUERY PLAN'] as Array<{ Plan: Record<string, unknown> }>)[0]!.Plan;
      expect(rowsTouched(plan)).toBeLessThanOrEqual(4);
    });
  });

  describe('findSent', () => {
    it("returns the first result of an actor's earlier sends by clientMsgId", async () => {
      const r = await leasedRoom();
      const a1 = post(2, alice, 'a-1');
      const b1 = post(3, bob, 'a-1');
      const a2 = post(4, alice, 'a-2');
      await log.appendBatch([{ roomId: r.roomId, epoch: r.epoch, events: [a1, b1, a2] }]);

      const found = await log.findSent(r.roomId, alice.id, ['a-1', 'a-2', 'never-sent']);

      expect(Object.fromEntries(found)).toEqual({ 'a-1': { seq: 2, ts: a1.ts }, 'a-2': { seq: 4, ts: a2.ts } });
      expect(Object.fromEntries(await log.findSent(r.roomId, bob.id, ['a-1', 'a-2']))).toEqual({ 'a-1': { seq: 3, ts: b1.ts } });
      expect((await log.findSent(r.roomId, alice.id, [])).size).toBe(0);
    });
  });
});
