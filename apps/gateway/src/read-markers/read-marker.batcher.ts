import type { OnApplicationShutdown } from '@nestjs/common';
import { DomainError } from '../../../../libs/domain/src';
import type { ReadMark } from '../../../../libs/persistence/src';

/** Where the batcher writes: ReadMarkerRepository.advance. */
export interface ReadMarkerStore {
  advance(marks: readonly ReadMark[]): Promise<ReadMark[]>;
}

export interface ReadMarkerBatcherOptions {
  /** How long marks gather before one statement writes them all. */
  flushMs?: number;
  /** Distinct (user, room) markers waiting at most: beyond, a mark is refused `rate_limited`. */
  maxPending?: number;
  /** Acks waiting on one marker at most (one user marking in a loop), same refusal beyond. */
  maxWaitersPerMark?: number;
}

interface Pending {
  userId: string;
  roomId: string;
  seq: number;
  waiters: Array<{ resolve(seq: number): void; reject(err: unknown): void }>;
}

/**
 * Read markers off the send path: `read:mark` commands are coalesced per user and room (the
 * highest seq wins, which the database's GREATEST would decide anyway) and written every
 * `flushMs` by one statement, whatever their number; each ack waits for that write and reports
 * the marker as stored, so a lower mark acks the higher one already there. Nothing goes through
 * the room's actor or the group commit: a marker takes no room seq. Memory is bounded by
 * `maxPending` markers of at most `maxWaitersPerMark` acks each.
 */
export class ReadMarkerBatcher implements OnApplicationShutdown {
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly flushMs: number;
  private readonly maxPending: number;
  private readonly maxWaiters: number;

  constructor(
    private readonly store: ReadMarkerStore,
    options: ReadMarkerBatcherOptions = {},
  ) {
    this.flushMs = options.flushMs ?? 100;
    this.maxPending = options.maxPending ?? 10_000;
    this.maxWaiters = options.maxWaitersPerMark ?? 16;
  }

  /** Moves the user's marker in the room to at least `seq`; resolves the stored marker. */
  mark(userId: string, roomId: string, seq: number): Promise<number> {
    const key = `${userId}/${roomId}`;
    let entry = this.pending.get(key);
    if (!entry) {
      if (this.pending.size >= this.maxPending) return Promise.reject(new DomainError('rate_limited', 'too many read markers in flight; retry'));
      entry = { userId, roomId, seq, waiters: [] };
      this.pending.set(key, entry);
    } else if (entry.waiters.length >= this.maxWaiters) {
      return Promise.reject(new DomainError('rate_limited', 'too many read marks; slow down'));
    }
    entry.seq = Math.max(entry.seq, seq);
    const waiting = new Promise<number>((resolve, reject) => entry!.waiters.push({ resolve, reject }));
    this.schedule();
    return waiting;
  }

  /** Number of distinct markers waiting for the next write (for tests and metrics). */
  get size(): number {
    return this.pending.size;
  }

  /** Writes whatever is pending now (shutdown, tests). */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    // One write at a time: the next batch starts after the previous one settled.
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.flush();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.flushMs);
    this.timer.unref();
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const entries = [...batch.values()];
    try {
      const stored = await this.store.advance(entries.map(({ userId, roomId, seq }) => ({ userId, roomId, seq })));
      const byKey = new Map(stored.map((m) => [`${m.userId}/${m.roomId}`, m.seq]));
      for (const entry of entries) {
        const seq = byKey.get(`${entry.userId}/${entry.roomId}`) ?? entry.seq;
        for (const w of entry.waiters) w.resolve(seq);
      }
    } catch {
      const error = new DomainError('unavailable', 'read marker not stored; retry');
      for (const entry of entries) for (const w of entry.waiters) w.reject(error);
    }
  }
}
