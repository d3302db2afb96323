import { Logger } from '@nestjs/common';
import type { RoomOwnership } from '../../../../libs/routing/src';
import type { RoomActor } from '../rooms/room.actor';
import type { RoomRegistry } from '../rooms/room.registry';

const WATCH_MS = 1_000;
/** Assignments are checked for abandonment this often (every Nth watch). */
const STALE_CHECK_EVERY = 30;

/**
 * Keeps this gateway's view of room ownership honest, at a cost that does not grow with the
 * rooms it holds:
 * - Rooms the scheduler gave to another gateway (this one was thought dead, e.g. after a pause)
 *   are dropped at once with `room:moved`, instead of waiting for the next append to be fenced
 *   by Postgres. The fence stays the guarantee; this only makes the hand-over prompt. The
 *   scheduler leaves a notice in this gateway's revoked set whenever it moves a room away, so
 *   each check is one Redis read; only rooms named there are looked up again (one may have come
 *   back since).
 * - Rooms assigned here that no client followed (a ticket never used) are handed back after
 *   `staleAfterMs`, so they do not hold capacity forever.
 */
export class OwnershipWatcher {
  private readonly logger = new Logger(OwnershipWatcher.name);
  private timer: NodeJS.Timeout | undefined;
  private watches = 0;

  constructor(
    private readonly rooms: RoomRegistry,
    private readonly ownership: RoomOwnership,
    private readonly gatewayId: string,
    /** How long an assignment may wait for its first connection, ms (tickets live about a minute). */
    private readonly staleAfterMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), WATCH_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    await this.check();
    if (++this.watches % STALE_CHECK_EVERY === 0) await this.releaseAbandoned();
  }

  async check(): Promise<void> {
    try {
      const held: RoomActor[] = [];
      for (const id of await this.ownership.takeRevoked(this.gatewayId)) {
        const actor = this.rooms.get(id);
        if (actor && !actor.isLost) held.push(actor);
      }
      if (held.length === 0) return;
      const owners = await this.ownership.ownersOf(held.map((actor) => actor.roomId));
      held.forEach((actor, i) => {
        const owner = owners[i] ?? null;
        if (owner !== this.gatewayId && !actor.isLost) {
          this.logger.warn(`room ${actor.roomId} now belongs to ${owner ?? 'no gateway'}: dropping it`);
          actor.loseRoom('failover');
        }
      });
    } catch (err) {
      this.logger.warn(`ownership check failed: ${(err as Error).message}`);
    }
  }

  /** Hands back assignments older than `staleAfterMs` of rooms this gateway never loaded. */
  async releaseAbandoned(now = Date.now()): Promise<number> {
    try {
      const stale = await this.ownership.staleAssignments(this.gatewayId, now - this.staleAfterMs);
      let released = 0;
      for (const roomId of stale) {
        if (this.rooms.holds(roomId)) {
          // Loaded here, but its load was never recorded (Redis hiccup): record it now.
          await this.ownership.markLoaded(roomId, this.gatewayId);
          continue;
        }
        if (await this.ownership.release(roomId, this.gatewayId)) released += 1;
      }
      if (released > 0) this.logger.log(`handed back ${released} room assignment(s) no client followed`);
      return released;
    } catch (err) {
      this.logger.warn(`assignment check failed: ${(err as Error).message}`);
      return 0;
    }
  }
}
