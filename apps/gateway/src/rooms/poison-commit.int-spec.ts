import { randomUUID } from 'node:crypto';
import type { Principal } from '../../../../libs/auth/src';
import { DomainError, type CommittedRef, type EventEnvelope, type MovedReason } from '../../../../libs/domain/src';
import { Database, EventLogRepository, RoomRepository, UserRepository, type RoomAppend } from '../../../../libs/persistence/src';
import { GroupCommitWriter } from './group-commit.writer';
import { RoomActor, type RoomChannel } from './room.actor';

/**
 * DESIGN.md invariant 9 against the real Postgres: events whose data the database refuses
 * (U+0000 or a lone surrogate inside the jsonb, as if edge validation had a hole) share a group
 * commit with other rooms' sends. Only those sends fail (`invalid`); every other room's sends,
 * and the bad room's other sends, commit, and every log stays gap-free.
 */
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/durable_rooms_test';

class RecordingChannel implements RoomChannel {
  kicked(): void {}
  readonly events: EventEnvelope[] = [];
  event(envelope: EventEnvelope): void {
    this.events.push(envelope);
  }
  moved(_roomId: string, _reason: MovedReason): void {}
}

let db: Database;
let rooms: RoomRepository;
let log: EventLogRepository;
let alice: Principal;
let bob: Principal;
/** Room ids of every statement the writer sent, in order. */
const statements: string[][] = [];
let writer: GroupCommitWriter;
const channel = new RecordingChannel();

const uniqueName = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`;

async function newUser(prefix: string): Promise<Principal> {
  const user = await new UserRepository(db).create(uniqueName(prefix), 'not-a-real-hash');
  return { id: user.id, username: user.username, role: user.role };
}

async function loadNewRoom(): Promise<RoomActor> {
  const { room } = await rooms.create(uniqueName('room'), alice);
  const actor = await RoomActor.load(room.id, { gatewayId: 'gw-poison', rooms, events: log, writer, channel, onLost: () => undefined });
  return actor!;
}

async function logOf(roomId: string): Promise<EventEnvelope[]> {
  return log.readAfter(roomId, 0, 10_000);
}

type Outcome = { ok: true; ref: CommittedRef } | { ok: false; error: unknown };
const settle = (promise: Promise<CommittedRef>): Promise<Outcome> =>
  promise.then(
    (ref) => ({ ok: true, ref }),
    (error: unknown) => ({ ok: false, error }),
  );

function seqOf(outcome: Outcome | undefined): number {
  if (!outcome?.ok) throw new Error(`expected a commit, got ${JSON.stringify(outcome)}`);
  return outcome.ref.seq;
}

beforeAll(async () => {
  db = new Database(DATABASE_URL, { applicationName: 'poison-commit-int-spec' });
  rooms = new RoomRepository(db);
  log = new EventLogRepository(db);
  const recording = {
    appendBatch: (appends: readonly RoomAppend[]) => {
      statements.push(appends.map((a) => a.roomId));
      return log.appendBatch(appends);
    },
  };
  writer = new GroupCommitWriter(recording);
  alice = await newUser('alice');
  bob = await newUser('bob');
});

afterAll(async () => {
  await writer?.idle();
  await db?.close();
});

describe('group commit with a poisoned event (real Postgres)', () => {
  it('answers only the poisoned sends with invalid; every other room and send of the batch commits gap-free', async () => {
    const actors = await Promise.all(Array.from({ length: 6 }, () => loadNewRoom()));
    const [poisoned, surrogate] = actors as [RoomActor, RoomActor];
    const before = await poisoned.send(alice, 'm-0', 'to be edited');
    statements.length = 0;

    // One tick: every room's sends queue for the same statement.
    const sends = new Map<RoomActor, Array<Promise<Outcome>>>();
    for (const actor of actors) {
      const list: Array<Promise<Outcome>> = [settle(actor.send(alice, 'a-1', 'hello')), settle(actor.send(bob, 'b-1', 'hi'))];
      if (actor === poisoned) {
        list.push(settle(actor.send(bob, 'bad', 'null \u0000 byte')));
        list.push(settle(actor.send(alice, 'a-2', 'after the bad one')));
        list.push(settle(actor.edit(alice, before.seq, 'edited after the bad one')));
      }
      if (actor === surrogate) {
        list.splice(1, 0, settle(actor.send(bob, 'bad', 'lone \ud800 surrogate')));
      }
      sends.set(actor, list);
    }
    const outcomes = new Map<RoomActor, Outcome[]>();
    for (const [actor, list] of sends) outcomes.set(actor, await Promise.all(list));

    // They did share the first statement, which Postgres refused as a whole.
    expect(new Set(statements[0])).toEqual(new Set(actors.map((a) => a.roomId)));

    const [p1, p2, bad, p3, edit] = outcomes.get(poisoned)!;
    expect(bad).toMatchObject({ ok: false, error: expect.any(DomainError) });
    expect(((bad as { error: DomainError }).error).code).toBe('invalid');
    // The bad event's seq went to the next send: nothing skipped, nothing doubled.
    expect([seqOf(p1), seqOf(p2), seqOf(p3), seqOf(edit)]).toEqual([3, 4, 5, 6]);

    const [s1, badSurrogate, s2] = outcomes.get(surrogate)!;
    expect(((badSurrogate as { error: DomainError }).error).code).toBe('invalid');
    expect([seqOf(s1), seqOf(s2)]).toEqual([2, 3]);

    for (const actor of actors) {
      const acked = outcomes.get(actor)!.filter((o) => o.ok).map(seqOf);
      const stored = await logOf(actor.roomId);
      const ackedBefore = actor === poisoned ? [before.seq] : [];
      // The log is exactly room.created plus the acknowledged events, gap-free.
      expect(stored.map((e) => e.seq)).toEqual([1, ...ackedBefore, ...acked]);
      expect(stored.some((e) => /\u0000|\ufffd/.test(JSON.stringify(e.data)))).toBe(false);
      expect((await rooms.leaseState(actor.roomId))!.headSeq).toBe(stored.at(-1)!.seq);
      expect(actor.headSeq).toBe(stored.at(-1)!.seq);
      // Sockets saw exactly the logged events, in order.
      expect(channel.events.filter((e) => e.roomId === actor.roomId)).toEqual(stored.slice(1));
    }
    expect((await logOf(poisoned.roomId)).at(-1)).toMatchObject({ type: 'message.edited', data: { seq: before.seq, text: 'edited after the bad one' } });
  });

  it('goes on after a refusal: a corrected resend with the same clientMsgId commits at the next seq', async () => {
    const actor = await loadNewRoom();
    const refused = await settle(actor.send(alice, 'fix-me', 'oops \u0000'));
    expect(refused.ok).toBe(false);
    expect(((refused as { error: DomainError }).error).code).toBe('invalid');

    const fixed = await actor.send(alice, 'fix-me', 'oops, fixed');

    expect(fixed.seq).toBe(2);
    expect((await logOf(actor.roomId)).map((e) => [e.seq, e.clientMsgId ?? null])).toEqual([
      [1, null],
      [2, 'fix-me'],
    ]);
  });
});
