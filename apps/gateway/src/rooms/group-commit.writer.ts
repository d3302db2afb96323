import type { NewEvent, RoomAppend, AppendOutcome } from '../../../../libs/persistence/src';
import { classifyDbError, pgErrorCode } from '../../../../libs/persistence/src';

/** Why a room's share of a group commit was not committed. */
export type CommitFailure =
  /** The statement ran but refused the room: its epoch or head moved (another owner?). */
  | { kind: 'refused' }
  /** A client message id of this room already exists in the log (older than memory holds). */
  | { kind: 'duplicate' }
  /**
   * The database refused `event`'s data (e.g. text it cannot store), tried alone. It is the
   * first of the failed events; the ones after it were not written (nor tried alone).
   */
  | { kind: 'rejected'; event: NewEvent }
  /** The database failed; if the connection broke during COMMIT the outcome is unknown. */
  | { kind: 'error'; error: unknown };

/** The writer's view of a room: who to tell about the outcome of its events. */
export interface CommitTarget {
  readonly roomId: string;
  readonly epoch: number;
  onCommitted(events: NewEvent[]): void;
  onFailed(events: NewEvent[], failure: CommitFailure): void;
}

export interface AppendPort {
  appendBatch(appends: readonly RoomAppend[]): Promise<Map<string, AppendOutcome>>;
}

export interface GroupCommitOptions {
  /**
   * Called once per statement the database answered (whatever each room's outcome; not for a
   * statement that failed), after the rooms were told, with the number of events it carried and
   * its round-trip time in ms; e.g. metrics. Must be cheap; a throw is only reported as a warning.
   */
  onBatch?: (events: number, durationMs: number) => void;
  /**
   * Called once per room and outcome as its events are settled: `committed`, or the kind of
   * failure, with the number of events; e.g. metrics. Must be cheap; a throw is only reported
   * as a warning. Events a room appends again after a failure are reported again.
   */
  onOutcome?: (outcome: CommitOutcome, events: number) => void;
}

/** How a room's events in a group commit ended. */
export type CommitOutcome = 'committed' | CommitFailure['kind'];

export interface WriterStats {
  batches: number;
  events: number;
  maxBatchEvents: number;
}

/**
 * Group commit for every room of a gateway. Appends queue up while one statement is in flight
 * and go out together in the next, so many rooms share a round trip. When the writer is idle a
 * new append is flushed on the next turn of the event loop (setImmediate), not after a timer:
 * light load pays no batching latency. One statement in flight at a time also keeps each room's
 * batches in seq order.
 *
 * One room's bad rows never fail the others: a statement that fails for any reason but the
 * connection is split and retried (see `isolate`), so only the room whose rows fail alone is
 * refused, and within it only the first event that fails.
 */
export class GroupCommitWriter {
  private queue = new Map<CommitTarget, NewEvent[]>();
  private flushing = false;
  readonly stats: WriterStats = { batches: 0, events: 0, maxBatchEvents: 0 };

  private readonly onBatch: ((events: number, durationMs: number) => void) | undefined;
  private readonly onOutcome: GroupCommitOptions['onOutcome'];

  constructor(
    private readonly log: AppendPort,
    options: GroupCommitOptions = {},
  ) {
    this.onBatch = options.onBatch;
    this.onOutcome = options.onOutcome;
  }

  enqueue(target: CommitTarget, event: NewEvent): void {
    const queued = this.queue.get(target);
    if (queued) queued.push(event);
    else this.queue.set(target, [event]);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => void this.drainQueue());
    }
  }

  /**
   * Takes back a room's events that are queued but not yet sent, after one of its batches
   * failed: they could only fail too, since they no longer continue the committed head.
   */
  discard(target: CommitTarget): NewEvent[] {
    const queued = this.queue.get(target) ?? [];
    this.queue.delete(target);
    return queued;
  }

  /** Resolves once nothing is queued or in flight (drain, shutdown). */
  async idle(): Promise<void> {
    while (this.flushing) await new Promise((resolve) => setTimeout(resolve, 2));
  }

  private async drainQueue(): Promise<void> {
    try {
      while (this.queue.size > 0) {
        const batch = this.queue;
        this.queue = new Map();
        await this.commit(batch);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async commit(batch: Map<CommitTarget, NewEvent[]>): Promise<void> {
    let statement: Statement;
    try {
      statement = await this.run(batch);
    } catch (error) {
      await this.isolate(batch, error);
      return;
    }
    for (const [target, events] of batch) {
      if (statement.outcome.get(target.roomId) === 'committed') this.committed(target, events);
      else this.failed(target, events, { kind: 'refused' });
    }
    this.record(statement);
  }

  /**
   * After a failed statement (nothing of it was written, unless the connection broke during
   * COMMIT). A connection failure fails every room of it: none is at fault, and retrying now would
   * only wait for the same dead connection again. Anything else is taken for some room's rows:
   * the batch is split in halves and each half committed on its own, recursively, so every room
   * that did nothing wrong commits, at a cost of a few statements per bad room (about 2·log2 of
   * the batch's rooms). A room left alone is told what its rows did.
   */
  private async isolate(batch: Map<CommitTarget, NewEvent[]>, error: unknown): Promise<void> {
    const cause = classifyDbError(error);
    if (cause === 'connection') {
      for (const [target, events] of batch) this.failed(target, events, { kind: 'error', error });
      return;
    }
    if (batch.size > 1) {
      const rooms = [...batch];
      const half = Math.ceil(rooms.length / 2);
      await this.commit(new Map(rooms.slice(0, half)));
      await this.commit(new Map(rooms.slice(half)));
      return;
    }
    const [[target, events]] = batch;
    if (pgErrorCode(error) === UNIQUE_VIOLATION) this.failed(target, events, { kind: 'duplicate' });
    else if (cause === 'data' && events.length > 1) await this.isolateEvent(target, events, error);
    else if (cause === 'data') this.reject(target, events, error);
    else this.failed(target, events, { kind: 'error', error });
  }

  /**
   * One room's rows were refused for their data, alone. Finds the first event that fails by a
   * binary search over prefixes (about log2(n) statements): a prefix that goes through is
   * committed for real, in seq order, so nothing before the bad event has to be sent again. The
   * seqs after the bad event no longer continue the head, so those events are handed back with it
   * (`rejected`), for the room to append again.
   */
  private async isolateEvent(target: CommitTarget, events: NewEvent[], error: unknown): Promise<void> {
    let committed = 0; // events[0, committed) are in the log now
    let failing = events.length; // events[committed, failing) fail when appended after them
    let cause = error;
    while (failing - committed > 1) {
      const mid = committed + Math.floor((failing - committed) / 2);
      const probe = events.slice(committed, mid);
      let statement: Statement;
      try {
        statement = await this.run(new Map([[target, probe]]));
      } catch (probeError) {
        if (classifyDbError(probeError) === 'data' && pgErrorCode(probeError) !== UNIQUE_VIOLATION) {
          failing = mid;
          cause = probeError;
          continue;
        }
        await this.isolate(new Map([[target, events.slice(committed)]]), probeError);
        return;
      }
      if (statement.outcome.get(target.roomId) !== 'committed') {
        this.failed(target, events.slice(committed), { kind: 'refused' });
        this.record(statement);
        return;
      }
      this.committed(target, probe);
      this.record(statement);
      committed = mid;
    }
    this.reject(target, events.slice(committed), cause);
  }

  /** `events[0]` fails alone for its data: the room answers its sender, the rest go again. */
  private reject(target: CommitTarget, events: NewEvent[], error: unknown): void {
    const event = events[0]!;
    // Edge validation should have stopped it: worth an operator's look, without the content.
    process.emitWarning(
      `group commit: the database refused event seq ${event.seq} (${event.type}) of room ${target.roomId}: ${pgErrorCode(error) ?? 'no SQLSTATE'}`,
    );
    this.failed(target, events, { kind: 'rejected', event });
  }

  /** Tells the room its events are committed, then the outcome hook. */
  private committed(target: CommitTarget, events: NewEvent[]): void {
    notify(() => target.onCommitted(events));
    this.report('committed', events.length);
  }

  /** Tells the room its events failed, then the outcome hook. */
  private failed(target: CommitTarget, events: NewEvent[], failure: CommitFailure): void {
    notify(() => target.onFailed(events, failure));
    this.report(failure.kind, events.length);
  }

  private report(outcome: CommitOutcome, events: number): void {
    if (!this.onOutcome) return;
    try {
      this.onOutcome(outcome, events);
    } catch (err) {
      process.emitWarning(`group commit onOutcome hook failed: ${(err as Error).message}`);
    }
  }

  /** Sends one statement for `batch`; throws what the database threw. */
  private async run(batch: Map<CommitTarget, NewEvent[]>): Promise<Statement> {
    const appends: RoomAppend[] = [];
    let events = 0;
    for (const [target, roomEvents] of batch) {
      appends.push({ roomId: target.roomId, epoch: target.epoch, events: roomEvents });
      events += roomEvents.length;
    }
    const started = this.onBatch ? performance.now() : 0;
    const outcome = await this.log.appendBatch(appends);
    return { outcome, events, durationMs: this.onBatch ? performance.now() - started : 0 };
  }

  /** Counts a statement the database answered, after its rooms were told. */
  private record(statement: Statement): void {
    this.stats.batches += 1;
    this.stats.events += statement.events;
    if (statement.events > this.stats.maxBatchEvents) this.stats.maxBatchEvents = statement.events;
    if (this.onBatch) {
      try {
        this.onBatch(statement.events, statement.durationMs);
      } catch (err) {
        process.emitWarning(`group commit onBatch hook failed: ${(err as Error).message}`);
      }
    }
  }
}

const UNIQUE_VIOLATION = '23505';

/** A statement the database answered: each room's outcome, its size and its round trip. */
interface Statement {
  outcome: Map<string, AppendOutcome>;
  events: number;
  durationMs: number;
}

/** A room's callback must never break the writer loop for the other rooms. */
function notify(callback: () => void): void {
  try {
    callback();
  } catch (err) {
    process.emitWarning(`group commit callback failed: ${(err as Error).stack ?? String(err)}`);
  }
}
