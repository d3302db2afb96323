import { Logger } from '@nestjs/common';
import type { RoomOwnership } from '../../../../libs/routing/src';
import type { GroupCommitWriter } from '../rooms/group-commit.writer';
import type { RoomRegistry } from '../rooms/room.registry';

export interface DrainProgress {
  state: 'active' | 'draining' | 'drained';
  total: number;
  handedOver: number;
  startedAt: string | null;
  /** Milliseconds each room took to hand over, in order. */
  perRoomMs: number[];
}

/** Pause between two rooms' hand-overs, so their clients do not reconnect all at once. */
const STAGGER_MS = 25;

/**
 * The one shutdown sequence for SIGTERM, Ctrl-C and the admin drain: mark draining (the
 * scheduler stops choosing this gateway, handshakes are refused), then room by room finish
 * in-flight commits, snapshot, release the owner key and tell clients `room:moved`.
 */
export class DrainService {
  private readonly logger = new Logger(DrainService.name);
  private running: Promise<DrainProgress> | undefined;
  private snapshotFailures = 0;
  readonly progress: DrainProgress = { state: 'active', total: 0, handedOver: 0, startedAt: null, perRoomMs: [] };

  constructor(
    private readonly rooms: RoomRegistry,
    private readonly ownership: RoomOwnership,
    private readonly writer: GroupCommitWriter,
    private readonly gatewayId: string,
    /** Publishes the draining status before the first room moves. */
    private readonly announce: () => Promise<void>,
  ) {}

  get isDraining(): boolean {
    return this.progress.state !== 'active';
  }

  /** Starts the drain once; later calls wait for the same one. */
  drain(reason: string): Promise<DrainProgress> {
    this.running ??= this.run(reason);
    return this.running;
  }

  private async run(reason: string): Promise<DrainProgress> {
    this.progress.state = 'draining';
    this.progress.startedAt = new Date().toISOString();
    await this.announce().catch(() => undefined);
    this.logger.log(`draining (${reason}): ${this.rooms.size} room(s) to hand over`);
    // Rooms still loading when the drain started are included: wait for them too.
    for (;;) {
      const actors = this.rooms.all().filter((a) => !a.isLost);
      if (actors.length === 0 && !this.rooms.isLoading) break;
      if (actors.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      this.progress.total = this.progress.handedOver + actors.length;
      for (const actor of actors) {
        const started = Date.now();
        // One try at the final snapshot (the S3 client retries once itself), and none once S3
        // failed during this drain: the log is the truth, and a drain with S3 down must not take
        // rooms x attempts x timeouts. Those rooms resume from their last periodic snapshot.
        const attempts = this.snapshotFailures > 0 ? 0 : 1;
        const snapshot = await actor.retire(() => this.ownership.release(actor.roomId, this.gatewayId).then(() => undefined), { snapshotAttempts: attempts });
        if (snapshot === 'failed') this.snapshotFailures += 1;
        this.progress.handedOver += 1;
        this.progress.perRoomMs.push(Date.now() - started);
        await new Promise((resolve) => setTimeout(resolve, STAGGER_MS));
      }
    }
    await this.writer.idle();
    this.progress.state = 'drained';
    const failed = this.snapshotFailures > 0 ? ` (final snapshot failed for ${this.snapshotFailures}: they resume from the log)` : '';
    const perRoom = [...this.progress.perRoomMs].sort((a, b) => a - b);
    const timing = perRoom.length > 0 ? `, per room median ${perRoom[Math.floor(perRoom.length / 2)]} ms, max ${perRoom.at(-1)} ms` : '';
    this.logger.log(`drained: ${this.progress.handedOver} room(s) handed over${timing}${failed}`);
    return this.progress;
  }
}
