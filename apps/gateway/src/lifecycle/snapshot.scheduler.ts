import { Logger } from '@nestjs/common';
import type { RoomActor } from '../rooms/room.actor';
import type { RoomRegistry } from '../rooms/room.registry';

export interface SnapshotPolicy {
  /** Snapshot once this many events were committed since the last one (SNAPSHOT_EVERY_EVENTS). */
  everyEvents: number;
  /** Or once this long passed since the last one with at least one new event (SNAPSHOT_INTERVAL_MS). */
  intervalMs: number;
}

/** How often rooms are checked against the policy; snapshots never run on the send path. */
const SWEEP_MS = 250;
const MAX_BACKOFF_MS = 30_000;

/** Pure policy decision, unit-tested on its own. */
export function snapshotDue(policy: SnapshotPolicy, unsnapshotted: number, msSinceLast: number): boolean {
  if (unsnapshotted <= 0) return false;
  return unsnapshotted >= policy.everyEvents || msSinceLast >= policy.intervalMs;
}

/**
 * Writes room snapshots in the background: every N events or T ms of activity, whichever comes
 * first. One snapshot per room at a time; a failure is logged and retried with exponential
 * backoff, and never touches the send path (the log is the truth, snapshots only save time).
 */
export class SnapshotScheduler {
  private readonly logger = new Logger(SnapshotScheduler.name);
  private timer: NodeJS.Timeout | undefined;
  private readonly running = new Set<RoomActor>();
  private readonly backoff = new WeakMap<RoomActor, { failures: number; retryAt: number }>();
  readonly stats = { saved: 0, failed: 0, stale: 0 };

  constructor(
    private readonly rooms: RoomRegistry,
    private readonly policy: SnapshotPolicy,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sweep(), SWEEP_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private sweep(): void {
    const now = Date.now();
    for (const actor of this.rooms.all()) {
      if (this.running.has(actor) || actor.isLost) continue;
      const retry = this.backoff.get(actor);
      if (retry && now < retry.retryAt) continue;
      if (!snapshotDue(this.policy, actor.unsnapshotted, now - actor.lastSnapshotAt)) continue;
      void this.snapshot(actor);
    }
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
    }
  }
}
