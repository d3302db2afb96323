import { Logger } from '@nestjs/common';
import type { RoomOwnership } from '../../../../libs/routing/src';
import type { RoomActor } from '../rooms/room.actor';
import type { RoomRegistry } from '../rooms/room.registry';

const WATCH_MS = 1_000;
/** Assignments are checked for abandonment this often (every Nth watch). */
const STALE_CHECK_EVERY = 30;
/** The room set is reconciled with the owner keys this often (every Nth watch)… */
const RECONCILE_EVERY = 5;
/** …about this many of its entries a pass, so a pass costs the same whatever the set's size. */
export const RECONCILE_BATCH = 200;

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
 * - The gateway's room set is reconciled with the owner keys, a bounded batch at a time: on a
 *   Redis Cluster an assignment's CAS (the room's owner key) and its bookkeeping (the gateways'
 *   room sets and revoked notices) are separate calls, and a scheduler that dies between them
 *   leaves entries here for rooms that another gateway owns, and no notice. Such entries are
 *   removed, and a room loaded here that another gateway now owns is dropped, as if noticed.
 */
export class OwnershipWatcher {
  private readonly logger = new Logger(OwnershipWatcher.name);
  private timer: NodeJS.Timeout | undefined;
  private watches = 0;
  private ticking = false;
  /** Where the walk over the room set stands ('0': at its start). */
  private reconcileCursor = '0';

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
    // A slow Redis must not stack passes on top of each other.
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.check();
      this.watches += 1;
      if (this.watches % STALE_CHECK_EVERY === 0) await this.releaseAbandoned();
      if (this.watches % RECONCILE_EVERY === 0) await this.reconcile();
    } finally {
      this.ticking = false;
    }
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

  /**
   * One reconciliation pass over the next batch of this gateway's room set. An entry whose room
   * another gateway owns (or no one, and not held here) is removed, unless it is a fresh
   * assignment that may still be in progress; a room held here that another gateway owns is
   * dropped with `room:moved`. Returns what it did.
   */
  async reconcile(now = Date.now()): Promise<{ checked: number; forgotten: number; dropped: number }> {
    const result = { checked: 0, forgotten: 0, dropped: 0 };
    try {
      const { cursor, entries } = await this.ownership.scanAssignments(this.gatewayId, this.reconcileCursor, RECONCILE_BATCH);
      this.reconcileCursor = cursor;
      result.checked = entries.length;
      if (entries.length === 0) return result;
      const owners = await this.ownership.ownersOf(entries.map((entry) => entry.roomId));
      for (const [i, entry] of entries.entries()) {
        const owner = owners[i] ?? null;
        if (owner === this.gatewayId) continue;
        const actor = this.rooms.get(entry.roomId);
        if (actor && !actor.isLost) {
          // Held here with no owner at all: the next resume assigns it, and the fence decides.
          if (owner === null) continue;
          this.logger.warn(`room ${entry.roomId} now belongs to ${owner} (no notice came): dropping it`);
          actor.loseRoom('failover');
          result.dropped += 1;
        }
        if (await this.ownership.forgetAssignment(this.gatewayId, entry.roomId, now)) result.forgotten += 1;
      }
      if (result.forgotten > 0) this.logger.log(`reconciled: ${result.forgotten} room entr(ies) this gateway does not own removed`);
    } catch (err) {
      this.logger.warn(`reconciliation failed: ${(err as Error).message}`);
    }
    return result;
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
