import { Logger } from '@nestjs/common';
import type { RoomOwnership } from '../../../../libs/routing/src';
import type { RoomRegistry } from '../rooms/room.registry';

const WATCH_MS = 1_000;

/**
 * Notices rooms the scheduler gave to another gateway (this one was thought dead, e.g. after a
 * pause) and drops them at once with `room:moved`, instead of waiting for the next append to be
 * fenced by Postgres. The fence stays the guarantee; this only makes the hand-over prompt.
 */
export class OwnershipWatcher {
  private readonly logger = new Logger(OwnershipWatcher.name);
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly rooms: RoomRegistry,
    private readonly ownership: RoomOwnership,
    private readonly gatewayId: string,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), WATCH_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async check(): Promise<void> {
    const actors = this.rooms.all();
    try {
      const owners = await this.ownership.ownersOf(actors.map((a) => a.roomId));
      actors.forEach((actor, i) => {
        const owner = owners[i];
        if (owner && owner !== this.gatewayId && !actor.isLost) {
          this.logger.warn(`room ${actor.roomId} now belongs to ${owner}: dropping it`);
          actor.loseRoom('failover');
        }
      });
    } catch (err) {
      this.logger.warn(`ownership check failed: ${(err as Error).message}`);
    }
  }
}
