import { DatabaseError } from 'pg';
import type { AppendOutcome, NewEvent, RoomAppend } from '../../../../libs/persistence/src';
import { GroupCommitWriter, type AppendPort, type CommitFailure, type CommitOutcome, type CommitTarget } from './group-commit.writer';

function pgError(code: string): DatabaseError {
  const err = new DatabaseError(`postgres refused it (${code})`, 0, 'error');
  err.code = code;
  return err;
}

/**
 * A stand-in for the append statement with its all-or-nothing semantics, on pure data: it
 * refuses the whole statement the way Postgres would when any row holds U+0000 in its data
 * (22P05) or a client message id the log already has (23505), or when told the connection is
 * down; otherwise a room commits if its events continue its head, else it is `fenced`.
 */
class FakeLog implements AppendPort {
  readonly rows = new Map<string, NewEvent[]>();
  readonly statements: RoomAppend[][] = [];
  connectionDown = false;
  failEveryStatementWith: DatabaseError | undefined;

  async appendBatch(appends: readonly RoomAppend[]): Promise<Map<string, AppendOutcome>> {
    this.statements.push([...appends]);
    await new Promise((resolve) => setImmediate(resolve));
    if (this.connectionDown) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
    if (this.failEveryStatementWith) throw this.failEveryStatementWith;
    for (const append of appends) {
      for (const event of append.events) {
        if (JSON.stringify(event.data).includes('\\u0000')) throw pgError('22P05');
        if (event.clientMsgId && this.rowsOf(append.roomId).some((r) => r.clientMsgId === event.clientMsgId)) throw pgError('23505');
      }
    }
    const outcome = new Map<string, AppendOutcome>();
    for (const append of appends) {
      const log = this.rowsOf(append.roomId);
      const continues = append.events[0]!.seq === (log.at(-1)?.seq ?? 0) + 1;
      if (continues) log.push(...append.events);
      outcome.set(append.roomId, continues ? 'committed' : 'fenced');
    }
    return outcome;
  }

  rowsOf(roomId: string): NewEvent[] {
    if (!this.rows.has(roomId)) this.rows.set(roomId, []);
    return this.rows.get(roomId)!;
  }
}

/** A room as the writer sees it, recording what it was told. */
class RecordingTarget implements CommitTarget {
  readonly epoch = 1;
  readonly committed: NewEvent[] = [];
  readonly failures: Array<{ events: NewEvent[]; failure: CommitFailure }> = [];
  constructor(readonly roomId: string) {}
  onCommitted(events: NewEvent[]): void {
    this.committed.push(...events);
  }
  onFailed(events: NewEvent[], failure: CommitFailure): void {
    this.failures.push({ events, failure });
  }
}

function message(seq: number, text: string, clientMsgId = `c-${seq}`): NewEvent {
  return { seq, type: 'message.posted', actorId: 'u-1', actorUsername: 'alice', clientMsgId, data: { text }, ts: new Date(0).toISOString() };
}

/** `n` events of a room, seqs from 1, with the ones at `poisonAt` (0-based) holding U+0000. */
function events(n: number, poisonAt: number[] = []): NewEvent[] {
  return Array.from({ length: n }, (_, i) => message(i + 1, poisonAt.includes(i) ? `bad\u0000${i}` : `text ${i}`));
}

function setup() {
  const log = new FakeLog();
  const batches: number[] = [];
  const outcomes: Partial<Record<CommitOutcome, number>> = {};
  const writer = new GroupCommitWriter(log, {
    onBatch: (n) => batches.push(n),
    onOutcome: (outcome, n) => (outcomes[outcome] = (outcomes[outcome] ?? 0) + n),
  });
  const rooms = Array.from({ length: 10 }, (_, i) => new RecordingTarget(`room-${i}`));
  /** Queues every room's events in the same tick, so they share the first statement. */
  const enqueue = (perRoom: Map<RecordingTarget, NewEvent[]>) => {
    for (const [room, list] of perRoom) for (const event of list) writer.enqueue(room, event);
  };
  return { log, writer, rooms, batches, outcomes, enqueue };
}

describe(GroupCommitWriter.name, () => {
  it('commits every other room of a batch in which one room violates a constraint, and refuses only that room', async () => {
    const { log, writer, rooms, enqueue } = setup();
    const poisoned = rooms[3]!;
    enqueue(new Map(rooms.map((room) => [room, events(3, room === poisoned ? [0] : [])])));
    await writer.idle();

    expect(log.statements[0]).toHaveLength(10); // they did share a statement, which failed
    for (const room of rooms.filter((r) => r !== poisoned)) {
      expect(room.committed.map((e) => e.seq)).toEqual([1, 2, 3]);
      expect(room.failures).toEqual([]);
      expect(log.rowsOf(room.roomId).map((e) => e.seq)).toEqual([1, 2, 3]);
    }
    expect(poisoned.committed).toEqual([]);
    expect(poisoned.failures).toHaveLength(1);
    expect(poisoned.failures[0]!.failure).toEqual({ kind: 'rejected', event: poisoned.failures[0]!.events[0] });
    expect((poisoned.failures[0]!.events[0]!.data as { text: string }).text).toContain('\u0000');
    expect(log.rowsOf(poisoned.roomId)).toEqual([]);
  });

  it('isolates two bad rooms among ten in a few statements, not one per room', async () => {
    const { log, writer, rooms, enqueue } = setup();
    enqueue(new Map(rooms.map((room, i) => [room, events(2, i === 2 || i === 7 ? [1] : [])])));
    await writer.idle();

    const rejected = rooms.filter((r) => r.failures.some((f) => f.failure.kind === 'rejected'));
    expect(rejected.map((r) => r.roomId)).toEqual(['room-2', 'room-7']);
    for (const room of rooms) {
      const expected = rejected.includes(room) ? [1] : [1, 2];
      expect(log.rowsOf(room.roomId).map((e) => e.seq)).toEqual(expected);
      expect(room.committed.map((e) => e.seq)).toEqual(expected);
    }
    // 1 failed statement, then halving 10 rooms down to the two bad ones, then their prefixes.
    expect(log.statements.length).toBeLessThan(20);
  });

  it("commits a bad room's events before the bad one and hands back the bad one with the rest", async () => {
    const { log, writer, rooms, enqueue } = setup();
    const [room, other] = rooms as [RecordingTarget, RecordingTarget];
    const sent = events(9, [5]);
    enqueue(new Map([[room, sent], [other, events(4)]]));
    await writer.idle();

    expect(log.rowsOf(room.roomId).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(room.committed).toEqual(sent.slice(0, 5));
    expect(room.failures).toEqual([{ events: sent.slice(5), failure: { kind: 'rejected', event: sent[5] } }]);
    expect(other.committed.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    // The bad event was found by halving the prefix, not by trying each event alone.
    const probesOfRoom = log.statements.filter((s) => s.length === 1 && s[0]!.roomId === room.roomId);
    expect(probesOfRoom.length).toBeLessThanOrEqual(Math.ceil(Math.log2(9)) + 1);
  });

  it('fails every room of the statement, without retrying, when the connection fails', async () => {
    const { log, writer, rooms, batches, enqueue } = setup();
    log.connectionDown = true;
    enqueue(new Map(rooms.map((room) => [room, events(2)])));
    await writer.idle();

    expect(log.statements).toHaveLength(1);
    for (const room of rooms) {
      expect(room.committed).toEqual([]);
      expect(room.failures).toHaveLength(1);
      expect(room.failures[0]!.failure.kind).toBe('error');
    }
    expect(batches).toEqual([]);
  });

  it('reports a refusal that is no room’s data (e.g. a statement error) as an error to each room, never as rejected', async () => {
    const { log, writer, rooms, enqueue } = setup();
    log.failEveryStatementWith = pgError('42P01');
    enqueue(new Map(rooms.slice(0, 4).map((room) => [room, events(3)])));
    await writer.idle();

    for (const room of rooms.slice(0, 4)) {
      expect(room.failures.map((f) => f.failure.kind)).toEqual(['error']);
      expect(room.failures[0]!.events.map((e) => e.seq)).toEqual([1, 2, 3]);
    }
  });

  it('isolates a duplicate client message id to its room and reports it as duplicate', async () => {
    const { log, writer, rooms, enqueue } = setup();
    const [room, ...others] = rooms.slice(0, 5) as RecordingTarget[];
    log.rowsOf(room!.roomId).push(message(1, 'sent long ago', 'old-id'));
    enqueue(new Map([[room!, [message(2, 'again', 'old-id')]], ...others.map((r): [RecordingTarget, NewEvent[]] => [r, events(2)])]));
    await writer.idle();

    expect(room!.failures.map((f) => f.failure)).toEqual([{ kind: 'duplicate' }]);
    for (const other of others) expect(other.committed.map((e) => e.seq)).toEqual([1, 2]);
  });

  it('counts only the statements the database answered', async () => {
    const { writer, rooms, batches, enqueue } = setup();
    enqueue(new Map(rooms.slice(0, 2).map((room, i) => [room, events(2, i === 0 ? [0] : [])])));
    await writer.idle();

    // The failed 2-room statement is not counted; the other room's retry and the bad room's
    // (failed) retry alone: one answered statement of 2 events.
    expect(batches).toEqual([2]);
    expect(writer.stats).toEqual({ batches: 1, events: 2, maxBatchEvents: 2 });
  });

  describe('onOutcome', () => {
    it('reports the committed events and the rejected ones of a batch with a bad room', async () => {
      const { writer, rooms, outcomes, enqueue } = setup();
      enqueue(new Map(rooms.slice(0, 3).map((room, i) => [room, events(4, i === 1 ? [2] : [])])));
      await writer.idle();
      // Rooms 0 and 2 commit 4 each; room 1 commits its 2 events before the bad one, and the bad
      // one goes back with the one after it (2 events rejected).
      expect(outcomes).toEqual({ committed: 10, rejected: 2 });
    });

    it('reports refused events (the fence: the head or epoch moved)', async () => {
      const { log, writer, rooms, outcomes, enqueue } = setup();
      log.rowsOf(rooms[0]!.roomId).push(message(1, 'written by the new owner', 'c-new-owner'));
      enqueue(new Map([[rooms[0]!, [message(1, 'stale owner')]], [rooms[1]!, events(1)]]));
      await writer.idle();
      expect(outcomes).toEqual({ refused: 1, committed: 1 });
    });

    it('reports duplicate and error outcomes', async () => {
      const dup = setup();
      dup.log.rowsOf(dup.rooms[0]!.roomId).push(message(1, 'sent long ago', 'old-id'));
      dup.enqueue(new Map([[dup.rooms[0]!, [message(2, 'again', 'old-id')]]]));
      await dup.writer.idle();
      expect(dup.outcomes).toEqual({ duplicate: 1 });

      const down = setup();
      down.log.connectionDown = true;
      down.enqueue(new Map(down.rooms.slice(0, 3).map((room) => [room, events(2)])));
      await down.writer.idle();
      expect(down.outcomes).toEqual({ error: 6 });
    });

    it('keeps committing when the hook throws', async () => {
      const log = new FakeLog();
      const writer = new GroupCommitWriter(log, {
        onOutcome: () => {
          throw new Error('metrics broke');
        },
      });
      const room = new RecordingTarget('room-x');
      const warned = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      try {
        for (const event of events(2)) writer.enqueue(room, event);
        await writer.idle();
        expect(room.committed.map((e) => e.seq)).toEqual([1, 2]);
        expect(warned).toHaveBeenCalledWith(expect.stringContaining('onOutcome hook failed: metrics broke'));
      } finally {
        warned.mockRestore();
      }
    });
  });
});
