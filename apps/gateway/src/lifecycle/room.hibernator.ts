import { Logger } from '@nestjs/common';
import type { RoomActor } from '../rooms/room.actor';
import type { RoomRegistry } from '../rooms/room.registry';
import { IdleTracker } from './idle-tracker';

/** Unloads running at once: each writes a snapshot to S3 and releases the room in Redis. */
const UNLOAD_CONCURRENCY = 8;

export interface RoomHibernatorDeps {
  rooms: RoomRegistry;
  /** Sockets connected for the room on this gateway, joined or not. */
  socketsIn(roomId: string): number;
  /** Gives the room's ownership back (Redis), so the next connection places it anew. */
  release(roomId: string): Promise<void>;
  /** While draining, the drain owns every room's hand-over. */
  isDraining(): boolean;
  /** ROOM_IDLE_MS; 0 never unloads. */
  idleMs: number;
}

/**
 * Rooms hibernate: a room with no socket and nothing in flight for `idleMs` is unloaded (final
 * snapshot if it has a tail, ownership released, memory freed), so a gateway's memory follows
 * its live rooms, not its uptime. The next connection resumes the room on any gateway. The
 * unload is a command of the room that re-checks idleness when its turn comes, so a socket or
 * command that arrived meanwhile keeps the room; a socket that connected during the unload gets
 * `room:moved` with reason `idle` and reconnects through the API.
 */
export class RoomHibernator {
  private readonly logger = new Logger(RoomHibernator.name);
  private readonly tracker: IdleTracker<RoomActor>;
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;
  readonly stats = { unloaded: 0, kept: 0 };

  constructor(private readonly deps: RoomHibernatorDeps) {
    this.tracker = new IdleTracker(deps.idleMs);
  }

  /** How often rooms are looked at: a quarter of the idle time, between 100 ms and 5 s. */
  get sweepMs(): number {
    return Math.min(5_000, Math.max(100, Math.floor(this.deps.idleMs / 4)));
  }

  start(): void {
    if (this.deps.idleMs <= 0) return;
    this.timer = setInterval(() => void this.sweep(), this.sweepMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A socket of the room left: its idle time starts now, not at the last sweep. */
  touch(roomId: string): void {
    const actor = this.deps.rooms.get(roomId);
    if (actor) this.tracker.touch(actor, Date.now());
  }

  /** One pass: observes every room and unloads the due ones, a few at a time. */
  async sweep(now = Date.now()): Promise<void> {
    if (this.sweeping || this.deps.isDraining()) return;
    this.sweeping = true;
    try {
      const actors = this.deps.rooms.all();
      this.tracker.retain(new Set(actors));
      const due = actors.filter((actor) => this.tracker.observe(actor, !this.unused(actor), now));
      for (let i = 0; i < due.length && !this.deps.isDraining(); i += UNLOAD_CONCURRENCY) {
        await Promise.all(due.slice(i, i + UNLOAD_CONCURRENCY).map((actor) => this.unload(actor)));
      }
    } finally {
      this.sweeping = false;
    }
  }

  private unused(actor: RoomActor): boolean {
    return actor.isIdle && this.deps.socketsIn(actor.roomId) === 0;
  }

  private async unload(actor: RoomActor): Promise<void> {
    const outcome = await this.deps.rooms.unload(actor, () => this.deps.release(actor.roomId), {
      reason: 'idle',
      snapshotAttempts: 1,
      // Re-checked when the unload's turn comes: a join or send queued meanwhile keeps the room.
      onlyIf: () => this.deps.socketsIn(actor.roomId) === 0 && !this.deps.isDraining(),
    });
    if (outcome === 'busy') {
      this.stats.kept += 1;
      this.tracker.touch(actor, Date.now());
      return;
    }
    this.stats.unloaded += 1;
    if (outcome === 'failed') this.logger.warn(`room ${actor.roomId} unloaded without its final snapshot (S3 failed): it resumes from the log`);
    else this.logger.log(`room ${actor.roomId} unloaded after ${this.deps.idleMs} ms idle (snapshot: ${outcome})`);
  }
}
