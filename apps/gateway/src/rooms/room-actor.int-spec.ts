import { randomUUID } from 'node:crypto';
import type { Principal } from '../../../../libs/auth/src';
import { DomainError, MESSAGE_WINDOW, DEDUP_WINDOW, JOIN_AFTER_LIMIT, JOIN_LATEST_LIMIT, type EventEnvelope, type MovedReason } from '../../../../libs/domain/src';
import {
  Database,
  EventLogRepository,
  RoomRepository,
  UserRepository,
  type NewEvent,
} from '../../../../libs/persistence/src';
import { GroupCommitWriter } from './group-commit.writer';
import { RECENT_MAX_EVENTS } from './recent-events';
import { RoomActor, type RoomChannel } from './room.actor';

/**
 * RoomActor against the real Postgres event log and the real group-commit writer. The only
 * double is the channel, which records what the Socket.IO broadcast would have sent.
 */
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/durable_rooms_test';

class RecordingChannel implements RoomChannel {
  readonly events: EventEnvelope[] = [];
  readonly movedNotices: Array<{ roomId: string; reason: MovedReason }> = [];
  readonly kicks: Array<{ roomId: string; userId: string; reason: string }> = [];
  kicked(roomId: string, userId: string, reason: string): void {
    this.kicks.push({ roomId, userId, reason });
  }
  event(envelope: EventEnvelope): void {
    this.events.push(envelope);
  }
  moved(roomId: string, reason: MovedReason): void {
    this.movedNotices.push({ roomId, reason });
  }
  seqsOf(roomId: string): number[] {
    return this.events.filter((e) => e.roomId === roomId).map((e) => e.seq);
  }
}

/** One simulated gateway: its own writer, channel and lost-room record. */
interface Gateway {
  id: string;
  writer: GroupCommitWriter;
  channel: RecordingChannel;
  lost: RoomActor[];
  load(roomId: string): Promise<RoomActor>;
}

let db: Database;
let users: UserRepository;
let rooms: RoomRepository;
let log: EventLogRepository;
let alice: Principal;
let bob: Principal;
let admin: Principal;
const gateways: Gateway[] = [];

const uniqueName = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`;

function gateway(id = uniqueName('gw')): Gateway {
  const writer = new GroupCommitWriter(log);
  const channel = new RecordingChannel();
  const lost: RoomActor[] = [];
  const gw: Gateway = {
    id,
    writer,
    channel,
    lost,
    async load(roomId: string) {
      const actor = await RoomActor.load(roomId, { gatewayId: id, rooms, events: log, writer, channel, onLost: (a) => lost.push(a) });
      if (!actor) throw new Error(`room ${roomId} not found`);
      return actor;
    },
  };
  gateways.push(gw);
  return gw;
}

async function newUser(prefix: string, role: 'user' | 'admin' = 'user'): Promise<Principal> {
  const user = await users.create(uniqueName(prefix), 'not-a-real-hash', role);
  return { id: user.id, username: user.username, role: user.role };
}

async function newRoom(creator: Principal = alice): Promise<string> {
  return (await rooms.create(uniqueName('room'), creator)).room.id;
}

async function logOf(roomId: string): Promise<EventEnvelope[]> {
  const all: EventEnvelope[] = [];
  for (;;) {
    const page = await log.readAfter(roomId, all.at(-1)?.seq ?? 0, 5_000);
    if (page.length === 0) return all;
    all.push(...page);
  }
}

async function headOf(roomId: string): Promise<number> {
  return (await rooms.leaseState(roomId))!.headSeq;
}

/** Awaits `promise` and returns the DomainError it rejects with (fails if it resolves). */
async function domainError(promise: Promise<unknown>): Promise<DomainError> {
  const outcome = await promise.then(
    (value) => ({ resolved: value }),
    (error: unknown) => ({ error }),
  );
  expect(outcome).toHaveProperty('error');
  const error = (outcome as { error: unknown }).error;
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

async function pollUntil(check: () => boolean, timeoutMs = 2_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

beforeAll(async () => {
  db = new Database(DATABASE_URL, { applicationName: 'room-actor-int-spec' });
  users = new UserRepository(db);
  rooms = new RoomRepository(db);
  log = new EventLogRepository(db);
  alice = await newUser('alice');
  bob = await newUser('bob');
  admin = await newUser('admin', 'admin');
});

afterAll(async () => {
  await Promise.all(gateways.map((gw) => gw.writer.idle()));
  await db?.close();
});

describe(RoomActor.name, () => {
  it('loads a room with its name and head from the log', async () => {
    const name = uniqueName('lobby');
    const { room } = await rooms.create(name, alice);
    const actor = await gateway().load(room.id);
    expect(actor.name).toBe(name);
    expect(actor.headSeq).toBe(1);
    expect(actor.epoch).toBe((await rooms.leaseState(room.id))!.epoch);
    expect(await RoomActor.load(randomUUID(), { gatewayId: 'gw', rooms, events: log, writer: new GroupCommitWriter(log), channel: new RecordingChannel(), onLost: () => undefined })).toBeNull();
  });

  it('50 concurrent sends get distinct gap-free seqs 2..51, broadcast in order and logged', async () => {
    const roomId = await newRoom();
    const gw = gateway();
    const actor = await gw.load(roomId);

    const sends = Array.from({ length: 50 }, (_, i) => actor.send(i % 2 ? bob : alice, `c-${i}`, `text ${i}`));
    const refs = await Promise.all(sends);

    const seqs = refs.map((r) => r.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    expect(new Set(seqs).size).toBe(50);
    // Seqs are assigned in call order.
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    expect(gw.channel.seqsOf(roomId)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    expect(actor.headSeq).toBe(51);

    const stored = await logOf(roomId);
    expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    for (let i = 0; i < 50; i++) {
      const event = stored[i + 1]!;
      expect(event).toMatchObject({ type: 'message.posted', clientMsgId: `c-${i}`, data: { text: `text ${i}` }, ts: refs[i]!.ts });
      expect(event.actor?.id).toBe((i % 2 ? bob : alice).id);
    }
    // The broadcast envelope is the logged envelope.
    expect(gw.channel.events.filter((e) => e.roomId === roomId)).toEqual(stored.slice(1));
    expect(await headOf(roomId)).toBe(51);
  });

  it('re-sending a clientMsgId returns the first {seq, ts} and writes nothing', async () => {
    const roomId = await newRoom();
    const gw = gateway();
    const actor = await gw.load(roomId);
    const first = await actor.send(alice, 'retry-me', 'hello');
    await actor.send(alice, 'other', 'something else');

    const again = await actor.send(alice, 'retry-me', 'hello (retried)');

    expect(again).toEqual(first);
    expect(actor.headSeq).toBe(3);
    expect(await headOf(roomId)).toBe(3);
    expect((await logOf(roomId)).length).toBe(3);
    expect(gw.channel.seqsOf(roomId)).toEqual([2, 3]);
  });

  it('the same clientMsgId from another user is a new message', async () => {
    const roomId = await newRoom();
    const actor = await gateway().load(roomId);
    const a = await actor.send(alice, 'same', 'from alice');
    const b = await actor.send(bob, 'same', 'from bob');
    expect(b.seq).toBe(a.seq + 1);
  });

  it('a concurrent duplicate (same clientMsgId before the first commits) yields one event', async () => {
    const roomId = await newRoom();
    const gw = gateway();
    const actor = await gw.load(roomId);

    const [r1, r2, r3] = await Promise.all([
      actor.send(alice, 'dup', 'once'),
      actor.send(alice, 'dup', 'once'),
      actor.send(alice, 'dup', 'once'),
    ]);

    expect(r2).toEqual(r1);
    expect(r3).toEqual(r1);
    expect(r1.seq).toBe(2);
    const stored = await logOf(roomId);
    expect(stored.filter((e) => e.clientMsgId === 'dup')).toHaveLength(1);
    expect(await headOf(roomId)).toBe(2);
    expect(gw.channel.seqsOf(roomId)).toEqual([2]);
  });

  describe('edit and delete', () => {
    it('a non-author may neither edit nor delete; the author may do both', async () => {
      const roomId = await newRoom();
      const actor = await gateway().load(roomId);
      const { seq } = await actor.send(alice, 'm1', 'original');

      expect((await domainError(actor.edit(bob, seq, 'hijacked'))).code).toBe('forbidden');
      expect((await domainError(actor.delete(bob, seq))).code).toBe('forbidden');
      expect(await headOf(roomId)).toBe(2);

      const edit = await actor.edit(alice, seq, 'fixed typo');
      expect(edit.seq).toBe(3);
      const del = await actor.delete(alice, seq);
      expect(del.seq).toBe(4);

      const stored = await logOf(roomId);
      expect(stored.slice(2).map((e) => [e.type, e.actor?.id, e.data])).toEqual([
        ['message.edited', alice.id, { seq, text: 'fixed typo' }],
        ['message.deleted', alice.id, { seq }],
      ]);
    });

    it('an admin may delete but not edit another user’s message', async () => {
      const roomId = await newRoom();
      const actor = await gateway().load(roomId);
      const { seq } = await actor.send(bob, 'm1', 'spam');

      expect((await domainError(actor.edit(admin, seq, 'moderated'))).code).toBe('forbidden');
      const del = await actor.delete(admin, seq);

      expect(del.seq).toBe(seq + 1);
      const last = (await logOf(roomId)).at(-1)!;
      expect(last).toMatchObject({ type: 'message.deleted', data: { seq }, actor: { id: admin.id } });
    });

    it("editing or deleting a deleted message is 'not_found'", async () => {
      const roomId = await newRoom();
      const actor = await gateway().load(roomId);
      const { seq } = await actor.send(alice, 'm1', 'soon gone');
      await actor.delete(alice, seq);

      expect((await domainError(actor.edit(alice, seq, 'too late'))).code).toBe('not_found');
      expect((await domainError(actor.delete(admin, seq))).code).toBe('not_found');
      expect(await headOf(roomId)).toBe(3);
    });

    it("a seq beyond the head or of a non-message event is 'not_found'", async () => {
      const roomId = await newRoom();
      const actor = await gateway().load(roomId);
      const { seq } = await actor.send(alice, 'm1', 'hi');
      const edit = await actor.edit(alice, seq, 'hi!');

      expect((await domainError(actor.edit(alice, 99, 'x'))).code).toBe('not_found');
      expect((await domainError(actor.edit(alice, edit.seq, 'x'))).code).toBe('not_found');
      expect((await domainError(actor.delete(alice, 1))).code).toBe('not_found');
    });

    it('after a reload the rules still hold (state rebuilt from the log)', async () => {
      const roomId = await newRoom();
      const first = await gateway().load(roomId);
      const { seq: kept } = await first.send(alice, 'm1', 'kept');
      const { seq: gone } = await first.send(alice, 'm2', 'gone');
      await first.delete(alice, gone);

      const second = await gateway().load(roomId);
      expect(second.headSeq).toBe(4);
      expect((await domainError(second.edit(bob, kept, 'x'))).code).toBe('forbidden');
      expect((await domainError(second.edit(alice, gone, 'x'))).code).toBe('not_found');
      expect((await second.edit(alice, kept, 'still mine')).seq).toBe(5);
    });

    it('judges messages older than the in-memory window from the log', async () => {
      const roomId = await newRoom();
      // Fill the log directly (fast), beyond the window, under a lease we then hand over.
      const lease = await rooms.takeLease(roomId, 'filler');
      const base = Date.now();
      const events: NewEvent[] = [];
      for (let seq = 2; seq <= MESSAGE_WINDOW + 3; seq++) {
        const author = seq === 3 ? bob : alice;
        events.push({
          seq,
          type: 'message.posted',
          actorId: author.id,
          actorUsername: author.username,
          clientMsgId: null,
          data: { text: `m${seq}` },
          ts: new Date(base + seq).toISOString(),
        });
      }
      const deleteOfOld = MESSAGE_WINDOW + 4;
      events.push({
        seq: deleteOfOld,
        type: 'message.deleted',
        actorId: bob.id,
        actorUsername: bob.username,
        clientMsgId: null,
        data: { seq: 3 },
        ts: new Date(base + deleteOfOld).toISOString(),
      });
      expect((await log.appendBatch([{ roomId, epoch: lease!.epoch, events }])).get(roomId)).toBe('committed');

      const actor = await gateway().load(roomId);
      expect(actor.headSeq).toBe(deleteOfOld);

      // seq 2 (alice) and 3 (bob, deleted) fell out of the window.
      expect((await domainError(actor.edit(bob, 2, 'x'))).code).toBe('forbidden');
      expect((await domainError(actor.edit(bob, 3, 'x'))).code).toBe('not_found');
      expect((await actor.edit(alice, 2, 'edited long after')).seq).toBe(deleteOfOld + 1);
      expect((await actor.delete(admin, 2)).seq).toBe(deleteOfOld + 2);
      expect((await domainError(actor.edit(alice, 2, 'again'))).code).toBe('not_found');
    });
  });

  describe('idempotency beyond memory', () => {
    it('a resend whose first result left the recent ring is confirmed from the log, and writes nothing', async () => {
      const roomId = await newRoom();
      const gw = gateway();
      const actor = await gw.load(roomId);
      const first = await actor.send(alice, 'early', 'the first');
      // More than the ring holds (RECENT_MAX_EVENTS), all still in the dedup window.
      for (let i = 0; i < 600; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => actor.send(alice, `fill-${i + j}`, 'x')));
      const head = actor.headSeq;
      const findSent = jest.spyOn(log, 'findSent');
      try {
        expect(await actor.send(alice, 'early', 'the first, again')).toEqual(first);
        expect(findSent).toHaveBeenCalledTimes(1);
        expect(findSent).toHaveBeenCalledWith(roomId, alice.id, ['early']);
        // A resend still in the ring needs no query.
        await actor.send(alice, 'fill-599', 'x');
        expect(findSent).toHaveBeenCalledTimes(1);
      } finally {
        findSent.mockRestore();
      }
      expect(actor.headSeq).toBe(head);
      expect(await headOf(roomId)).toBe(head);
    });

    it('a fingerprint that matches another send (a collision) neither swallows a new message nor hides a committed one', async () => {
      const roomId = await newRoom();
      const gw = gateway();
      const actor = await gw.load(roomId);
      const x = await actor.send(alice, 'x', 'first x');
      const y = await actor.send(alice, 'y', 'then y');
      // Plant what two colliding fingerprints would leave: the window answers 'fresh' with y's
      // entry (a new message that must not be taken for y), and 'x' with y's result (x's own entry
      // overwritten by its colliding twin).
      actor.view.sent.set(alice.id, 'fresh', y.seq, y.ts);
      actor.view.sent.set(alice.id, 'x', y.seq, y.ts);

      const fresh = await actor.send(alice, 'fresh', 'a new message');
      expect(fresh.seq).toBe(y.seq + 1);
      expect(await actor.send(alice, 'x', 'first x, again')).toEqual(x);

      const stored = await logOf(roomId);
      expect(stored.map((e) => e.clientMsgId ?? null)).toEqual([null, 'x', 'y', 'fresh']);
      expect(gw.channel.seqsOf(roomId)).toEqual([x.seq, y.seq, fresh.seq]);
    });

    it('a resend of a clientMsgId older than the dedup window returns the first result and writes nothing', async () => {
      const roomId = await newRoom();
      const lease = await rooms.takeLease(roomId, 'filler');
      const base = Date.now();
      const events: NewEvent[] = [];
      for (let i = 0; i <= DEDUP_WINDOW; i++) {
        const seq = i + 2;
        events.push({
          seq,
          type: 'message.posted',
          actorId: alice.id,
          actorUsername: alice.username,
          clientMsgId: `old-${i}`,
          data: { text: `m${seq}` },
          ts: new Date(base + seq).toISOString(),
        });
      }
      expect((await log.appendBatch([{ roomId, epoch: lease!.epoch, events }])).get(roomId)).toBe('committed');
      const head = DEDUP_WINDOW + 2;
      const first = events[0]!;

      const gw = gateway();
      const actor = await gw.load(roomId);
      expect(actor.headSeq).toBe(head);

      // The actor no longer remembers old-0; the log's unique index catches the duplicate, and
      // the send is answered with the first result at once (no extra round for the client).
      const attempt = await actor.send(alice, 'old-0', 'retried');
      expect(attempt).toEqual({ seq: first.seq, ts: first.ts });
      const retried = await actor.send(alice, 'old-0', 'retried');

      expect(retried).toEqual({ seq: first.seq, ts: first.ts });
      expect(await headOf(roomId)).toBe(head);
      expect(gw.channel.seqsOf(roomId)).toEqual([]);
      // The room keeps working afterwards.
      expect((await actor.send(alice, 'new-1', 'fresh')).seq).toBe(head + 1);

      // An old id and new ones in the same batch: the old one gets its first result, the new
      // ones are written (again, with fresh seqs) and acknowledged, gap-free.
      const [old, fresh2, fresh3] = await Promise.all([
        actor.send(alice, 'old-1', 'again'),
        actor.send(alice, 'new-2', 'fresh 2'),
        actor.send(alice, 'new-3', 'fresh 3'),
      ]);
      expect(old).toEqual({ seq: events[1]!.seq, ts: events[1]!.ts });
      expect([fresh2.seq, fresh3.seq]).toEqual([head + 2, head + 3]);
      expect(await headOf(roomId)).toBe(head + 3);
    });
  });

  describe('takeover by another gateway', () => {
    it("fences the stale actor: its next send fails, clients are told to move, nothing reaches the log", async () => {
      const roomId = await newRoom();
      const gwA = gateway();
      const gwB = gateway();
      const stale = await gwA.load(roomId);
      const before = await stale.send(alice, 'a-1', 'before takeover');
      expect(before.seq).toBe(2);

      const fresh = await gwB.load(roomId);
      expect(fresh.epoch).toBeGreaterThan(stale.epoch);
      expect(fresh.headSeq).toBe(2);
      const headAtTakeover = await headOf(roomId);

      const attempts = await Promise.allSettled([
        stale.send(alice, 'a-2', 'after takeover'),
        stale.send(bob, 'a-3', 'after takeover too'),
      ]);
      for (const attempt of attempts) {
        expect(attempt.status).toBe('rejected');
        const reason = (attempt as PromiseRejectedResult).reason as unknown;
        expect(reason).toBeInstanceOf(DomainError);
        expect(['room_moved', 'unavailable']).toContain((reason as DomainError).code);
      }

      expect(await pollUntil(() => gwA.channel.movedNotices.length > 0)).toBe(true);
      expect(gwA.channel.movedNotices).toEqual([{ roomId, reason: 'failover' }]);
      expect(gwA.lost).toEqual([stale]);
      expect(stale.isLost).toBe(true);
      expect(gwB.channel.movedNotices).toEqual([]);

      // Once the room is known lost, every command is 'room_moved'.
      expect((await domainError(stale.send(alice, 'a-4', 'still trying'))).code).toBe('room_moved');
      expect((await domainError(stale.edit(alice, before.seq, 'x'))).code).toBe('room_moved');

      const stored = await logOf(roomId);
      expect(stored.map((e) => e.seq)).toEqual([1, 2]);
      expect(await headOf(roomId)).toBe(headAtTakeover);
      expect(gwA.channel.seqsOf(roomId)).toEqual([2]);

      // The new owner continues the log, and a retried send of the old owner's message dedups.
      expect(await fresh.send(alice, 'a-1', 'before takeover')).toEqual(before);
      const next = await fresh.send(alice, 'a-2', 'after takeover');
      expect(next.seq).toBe(3);
      const final = await logOf(roomId);
      expect(final.map((e) => e.seq)).toEqual([1, 2, 3]);
      expect(final.filter((e) => e.clientMsgId === 'a-3')).toEqual([]);
      expect(gwB.channel.seqsOf(roomId)).toEqual([3]);
    });

    it('events in flight at the takeover are rejected, not acknowledged', async () => {
      const roomId = await newRoom();
      const gwA = gateway();
      const stale = await gwA.load(roomId);
      await stale.send(alice, 'warm-up', 'x');

      // Queue sends, then take the lease before the writer's next turn runs.
      const inFlight = Array.from({ length: 5 }, (_, i) => stale.send(alice, `late-${i}`, 'late'));
      const takeover = gateway().load(roomId);
      const results = await Promise.allSettled(inFlight);
      await takeover;

      const stored = await logOf(roomId);
      const committed = new Set(stored.map((e) => e.clientMsgId));
      for (let i = 0; i < results.length; i++) {
        const result = results[i]!;
        // Whatever raced ahead of the lease must be in the log; whatever was refused must not be.
        if (result.status === 'fulfilled') expect(committed.has(`late-${i}`)).toBe(true);
        else expect(committed.has(`late-${i}`)).toBe(false);
      }
      expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1));
    });
  });

  describe('group commit', () => {
    it('two rooms sending concurrently share batches', async () => {
      const [r1, r2] = await Promise.all([newRoom(), newRoom()]);
      const gw = gateway();
      const [a1, a2] = await Promise.all([gw.load(r1), gw.load(r2)]);
      const perRoom = 20;

      const sends: Array<Promise<unknown>> = [];
      for (let i = 0; i < perRoom; i++) {
        sends.push(a1.send(alice, `r1-${i}`, 'one'));
        sends.push(a2.send(bob, `r2-${i}`, 'two'));
      }
      await Promise.all(sends);

      expect(gw.writer.stats.events).toBe(2 * perRoom);
      expect(gw.writer.stats.batches).toBeLessThan(2 * perRoom);
      // A batch larger than one room's whole share must have carried both rooms.
      expect(gw.writer.stats.maxBatchEvents).toBeGreaterThan(perRoom);
      expect(gw.channel.seqsOf(r1)).toEqual(Array.from({ length: perRoom }, (_, i) => i + 2));
      expect(gw.channel.seqsOf(r2)).toEqual(Array.from({ length: perRoom }, (_, i) => i + 2));
      expect(await headOf(r1)).toBe(perRoom + 1);
      expect(await headOf(r2)).toBe(perRoom + 1);
    });

    it('a refused room does not hold back another room in the same batch', async () => {
      const [ok, taken] = await Promise.all([newRoom(), newRoom()]);
      const gw = gateway();
      const [okActor, takenActor] = await Promise.all([gw.load(ok), gw.load(taken)]);
      await gateway().load(taken);

      const [okResult, takenResult] = await Promise.allSettled([okActor.send(alice, 'x', 'fine'), takenActor.send(alice, 'y', 'fenced')]);

      expect(okResult).toEqual({ status: 'fulfilled', value: expect.objectContaining({ seq: 2 }) });
      expect(takenResult.status).toBe('rejected');
      expect(await headOf(ok)).toBe(2);
      expect(await headOf(taken)).toBe(1);
    });
  });

  describe('joins', () => {
    const subscribe = () => undefined;
    const ok = (ack: Awaited<ReturnType<RoomActor['join']>>) => {
      if (!ack.ok) throw new Error('join refused');
      return ack;
    };

    it('a join whose page the recent ring holds is answered from memory, exactly as the log would answer it', async () => {
      const roomId = await newRoom();
      const actor = await gateway().load(roomId);
      await Promise.all(Array.from({ length: 30 }, (_, i) => actor.send(alice, `j-${i}`, `text ${i}`)));
      const readAfter = jest.spyOn(log, 'readAfter');
      const readBefore = jest.spyOn(log, 'readBefore');
      let acks: Array<Awaited<ReturnType<typeof ok>>>;
      try {
        // Alice resumes after seq 25; bob's first join commits his member.joined (seq 32) first;
        // a client that has everything asks for nothing.
        acks = [ok(await actor.join(alice, 25, subscribe)), ok(await actor.join(bob, undefined, subscribe)), ok(await actor.join(alice, 32, subscribe))];
        expect(readAfter).not.toHaveBeenCalled();
        expect(readBefore).not.toHaveBeenCalled();
      } finally {
        readAfter.mockRestore();
        readBefore.mockRestore();
      }
      const stored = await logOf(roomId);
      expect(stored).toHaveLength(32);
      expect(acks[0]!.events).toEqual(stored.slice(25, 31));
      expect(acks[0]!.hasMore).toBe(false);
      expect(acks[1]!.events).toEqual(stored);
      expect(acks[1]!.hasMore).toBe(false);
      expect(acks[2]!.events).toEqual([]);
    });

    it('a page older than the ring is read from the log, capped, with hasMore', async () => {
      const roomId = await newRoom();
      const actor = await gateway().load(roomId);
      const sends = RECENT_MAX_EVENTS + 40;
      await Promise.all(Array.from({ length: sends }, (_, i) => actor.send(alice, `o-${i}`, `old ${i}`)));
      const stored = await logOf(roomId);
      const readAfter = jest.spyOn(log, 'readAfter');
      try {
        const page = ok(await actor.join(alice, 1, subscribe));
        expect(readAfter).toHaveBeenCalledTimes(1);
        expect(page.events).toEqual(stored.slice(1, 1 + JOIN_AFTER_LIMIT));
        expect(page.hasMore).toBe(true);
        // The latest page is still in memory, and says there is more before it.
        const latest = ok(await actor.join(alice, undefined, subscribe));
        expect(latest.events).toEqual(stored.slice(-JOIN_LATEST_LIMIT));
        expect(latest.hasMore).toBe(true);
        expect(readAfter).toHaveBeenCalledTimes(1);
        // A page wider than JOIN_AFTER_LIMIT is capped even when the ring holds all of it.
        const head = stored.length;
        const from = head - (JOIN_AFTER_LIMIT + 5);
        expect(RECENT_MAX_EVENTS).toBeGreaterThan(JOIN_AFTER_LIMIT + 5);
        const wide = ok(await actor.join(alice, from, subscribe));
        expect(wide.events).toEqual(stored.slice(from, from + JOIN_AFTER_LIMIT));
        expect(wide.hasMore).toBe(true);
      } finally {
        readAfter.mockRestore();
      }
    });

    it('after a reload the ring holds the replayed tail, and joins from it match the log', async () => {
      const roomId = await newRoom();
      const first = await gateway().load(roomId);
      await Promise.all(Array.from({ length: 12 }, (_, i) => first.send(alice, `t-${i}`, `tail ${i}`)));
      const second = await gateway().load(roomId);
      const stored = await logOf(roomId);
      const readAfter = jest.spyOn(log, 'readAfter');
      try {
        expect(ok(await second.join(alice, 5, subscribe)).events).toEqual(stored.slice(5));
        expect(readAfter).not.toHaveBeenCalled();
      } finally {
        readAfter.mockRestore();
      }
    });
  });
});
