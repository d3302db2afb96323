import { Logger } from '@nestjs/common';
import { dedupHash, dedupHashOut } from '../../../../libs/domain/src';
import type { RoomActor } from '../rooms/room.actor';
import type { RoomRegistry } from '../rooms/room.registry';

export interface SnapshotPolicy {
  /** Snapshot once this many events were committed since the last one (SNAPSHOT_EVERY_EVENTS). */
  everyEvents: number;
  /** Or once this long passed since the last one with at least one new event (SNAPSHOT_INTERVAL_MS). */
  intervalMs: number;
  /**
   * Offset each room's first snapshot after its load (`loadPhase`); default true. Off only for
   * the snapshot-wave bench, which makes 500 rooms due at once on purpose.
   */
  loadPhase?: boolean;
}

/** How often rooms are checked against the policy; snapshots never run on the send path. */
const SWEEP_MS = 250;
const MAX_BACKOFF_MS = 30_000;

/**
 * Snapshots that run at once. Each one's event-loop share (copying the room state for the
 * encoder: a few ms for a 1 MB room) is paid when it starts, and after a failover hundreds of
 * rooms fall due together; starting them all in one tick would stall the loop past the heartbeat
 * TTL. Four keep the encoder threads and the S3/Postgres round trips busy while bounding both
 * the loop's work per tick and the state copies held in memory.
 */
export const MAX_CONCURRENT_SNAPSHOTS = 4;

/**
 * Pure policy decision, unit-tested on its own. `phase` (in [0, 0.5), see `loadPhase`) brings
 * the room's next snapshot forward by that fraction of `everyEvents` and of `intervalMs`.
 */
export function snapshotDue(policy: SnapshotPolicy, unsnapshotted: number, msSinceLast: number, phase = 0): boolean {
  if (unsnapshotted <= 0) return false;
  return unsnapshotted >= Math.ceil(policy.everyEvents * (1 - phase)) || msSinceLast >= policy.intervalMs * (1 - phase);
}

/**
 * How early, as a fraction of the policy's events and interval, a room's first snapshot after
 * its load falls due: a fixed number in [0, 0.5) taken from a hash of its id. Rooms loaded
 * together (after a failover or a deploy, or in any benchmark) and written at one rate would
 * otherwise reach every SNAPSHOT_EVERY_EVENTS mark, or SNAPSHOT_INTERVAL_MS, together and
 * snapshot in one burst that takes the encoder thread, the S3 uploads and the cores from the
 * commits at once. Offsetting only the first snapshot is enough: each next one comes a whole
 * policy after it, so the rooms stay apart. No tail waits longer than the policy says.
 */
export function loadPhase(roomId: string): number {
  dedupHash(roomId, '');
  return (dedupHashOut.lo >>> 0) / 2 ** 33;
}

/** What the selection needs to know of a room (a RoomActor has it). */
export interface SnapshotCandidate {
  roomId: string;
  unsnapshotted: number;
  lastSnapshotAt: number;
  /** False until the room's first snapshot since this gateway loaded it (see `loadPhase`). */
  snapshottedSinceLoad: boolean;
}

/**
 * Pure selection, unit-tested on its own: the due candidates, oldest-due first (the longest since
 * their last snapshot; among equals the longest tail), at most `slots` of them. `waiting` counts
 * the due ones left for later.
 */
export function pickDue<T extends SnapshotCandidate>(
  policy: SnapshotPolicy,
  candidates: Iterable<T>,
  now: number,
  slots: number,
): { start: T[]; waiting: number } {
  const due: T[] = [];
  for (const c of candidates) {
    if (c.unsnapshotted <= 0) continue; // most loaded rooms of a big gateway: skip the hash
    const phase = c.snapshottedSinceLoad || policy.loadPhase === false ? 0 : loadPhase(c.roomId);
    if (snapshotDue(policy, c.unsnapshotted, now - c.lastSnapshotAt, phase)) due.push(c);
  }
  if (due.length <= slots) return { start: due, waiting: 0 };
  due.sort((a, b) => a.lastSnapshotAt - b.lastSnapshotAt || b.unsnapshotted - a.unsnapshotted);
  const start = due.slice(0, Math.max(0, slots));
  return { start, waiting: due.length - start.length };
}

/**
 * Writes room snapshots in the background: every N events or T ms of activity, whichever comes
 * first. One snapshot per room at a time and at most `maxConcurrent` in all, oldest-due first:
 * rooms left over wait for a free slot (the next sweep, or at once when a snapshot finishes
 * while others wait). A failure is logged and retried with exponential backoff, and never
 * touches the send path (the log is the truth, snapshots only save time).
 */
export class SnapshotScheduler {
  private readonly logger = new Logger(SnapshotScheduler.name);
  private timer: NodeJS.Timeout | undefined;
  private readonly running = new Set<RoomActor>();
  private readonly backoff = new WeakMap<RoomActor, { failures: number; retryAt: number }>();
  /** Due rooms the last sweep left for want of a slot. */
  private waiting = 0;
  private sweepQueued = false;
  readonly stats = { saved: 0, failed: 0, stale: 0 };

  /**
   * @param maxConcurrent snapshots running at once (default MAX_CONCURRENT_SNAPSHOTS); `Infinity`
   *   only for the bench's measurement of the unbounded sweep (SNAPSHOT_ENCODE_INLINE).
   */
  constructor(
    private readonly rooms: Pick<RoomRegistry, 'all'>,
    private readonly policy: SnapshotPolicy,
    private readonly maxConcurrent: number = MAX_CONCURRENT_SNAPSHOTS,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sweep(), SWEEP_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Snapshots running now. */
  get inFlight(): number {
    return this.running.size;
  }

  private sweep(): void {
    const now = Date.now();
    const idle: RoomActor[] = [];
    for (const actor of this.rooms.all()) {
      if (this.running.has(actor) || actor.isLost) continue;
      const retry = this.backoff.get(actor);
      if (retry && now < retry.retryAt) continue;
      idle.push(actor);
    }
    const { start, waiting } = pickDue(this.policy, idle, now, this.maxConcurrent - this.running.size);
    this.waiting = waiting;
    for (const actor of start) void this.snapshot(actor);
  }

  /** A slot came free while rooms wait: sweep on the next tick (once, however many finished). */
  private sweepSoon(): void {
    if (this.waiting === 0 || this.sweepQueued || !this.timer) return;
    this.sweepQueued = true;
    setImmediate(() => {
      this.sweepQueued = false;
      if (this.timer) this.sweep();
    });
  }

  private async snapshot(actor: RoomActor): Promise<void> {
    this.running.add(actor);
    try {
      const outcome = await actor.snapshot();
      if (outcome === 'saved') this.stats.saved += 1;
      if (outcome === 'stale') this.stats.stale += 1;
      this.backoff.delete(actor);
    } catch (err) {
      this.stats.failed += 1;
      const failures = (this.backoff.get(actor)?.failures ?? 0) + 1;
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** (failures - 1));
      this.backoff.set(actor, { failures, retryAt: Date.now() + delay });
      this.logger.warn(`snapshot of room ${actor.roomId} failed (attempt ${failures}, retry in ${delay} ms): ${(err as Error).message}`);
    } finally {
      this.running.delete(actor);
      this.sweepSoon();
    }
  }
}
