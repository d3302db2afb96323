import type { NewEvent, RoomAppend, AppendOutcome } from '../../../../libs/persistence/src';
import { pgErrorCode } from '../../../../libs/persistence/src';

/** Why a room's share of a group commit was not committed. */
export type CommitFailure =
  /** The statement ran but refused the room: its epoch or head moved (another owner?). */
  | { kind: 'refused' }
  /** A client message id of this room already exists in the log (older than memory holds). */
  | { kind: 'duplicate' }
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
}

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
 */
export class GroupCommitWriter {
  private queue = new Map<CommitTarget, NewEvent[]>();
  private flushing = false;
  readonly stats: WriterStats = { batches: 0, events: 0, maxBatchEvents: 0 };

  private readonly onBatch: ((events: number, durationMs: number) => void) | undefined;

  constructor(
    private readonly log: AppendPort,
    options: GroupCommitOptions = {},
  ) {
    this.onBatch = options.onBatch;
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
    const appends: RoomAppend[] = [];
    let eventCount = 0;
    for (const [target, events] of batch) {
      appends.push({ roomId: target.roomId, epoch: target.epoch, events });
      eventCount += events.length;
    }
    let outcome: Map<string, AppendOutcome>;
    const started = this.onBatch ? performance.now() : 0;
    try {
      outcome = await this.log.appendBatch(appends);
    } catch (error) {
      const duplicate = pgErrorCode(error) === '23505';
      if (duplicate && batch.size > 1) {
        // One room's duplicate aborts the whole statement: retry room by room to isolate it.
        for (const [target, events] of batch) await this.commit(new Map([[target, events]]));
        return;
      }
      const failure: CommitFailure = duplicate ? { kind: 'duplicate' } : { kind: 'error', error };
      for (const [target, events] of batch) notify(() => target.onFailed(events, failure));
      return;
    }
    const duration = this.onBatch ? performance.now() - started : 0;
    this.stats.batches += 1;
    this.stats.events += eventCount;
    if (eventCount > this.stats.maxBatchEvents) this.stats.maxBatchEvents = eventCount;
    for (const [target, events] of batch) {
      if (outcome.get(target.roomId) === 'committed') notify(() => target.onCommitted(events));
      else notify(() => target.onFailed(events, { kind: 'refused' }));
    }
    if (this.onBatch) {
      try {
        this.onBatch(eventCount, duration);
      } catch (err) {
        process.emitWarning(`group commit onBatch hook failed: ${(err as Error).message}`);
      }
    }
  }
}

/** A room's callback must never break the writer loop for the other rooms. */
function notify(callback: () => void): void {
  try {
    callback();
  } catch (err) {
    process.emitWarning(`group commit callback failed: ${(err as Error).stack ?? String(err)}`);
  }
}
