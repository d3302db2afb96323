import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import type { AppConfig } from '../../../../libs/config/src';
import { SNAPSHOT_JOB, SNAPSHOT_JOB_OPTIONS, SNAPSHOT_QUEUE, snapshotJobId, type SnapshotJobData } from '../../../../libs/jobs/src';
import { SnapshotBacklogRepository } from '../../../../libs/persistence/src';
import { GatewayRegistry, RoomOwnership } from '../../../../libs/routing/src';
import { CONFIG } from '../tokens';

/** Rooms looked at per sweep, longest tail first; the next sweep takes the rest. */
export const SWEEP_BATCH = 200;

export interface SweepResult {
  /** Rooms whose tail since their newest snapshot is at least SNAPSHOT_EVERY_EVENTS. */
  candidates: number;
  /** Of those, rooms no live gateway holds: one snapshot job each. */
  queued: number;
}

/**
 * Finds cold rooms worth a snapshot: a long tail since the newest snapshot and no live owner (no
 * owner at all, or a gateway whose heartbeat stopped). Rooms a live gateway holds are that
 * gateway's business (its own snapshot scheduler). Queues `snapshot-<room>-<head>`, so sweeps
 * that find the same room at the same head add nothing.
 */
@Injectable()
export class ColdRoomSweeper {
  private readonly logger = new Logger(ColdRoomSweeper.name);

  constructor(
    private readonly backlog: SnapshotBacklogRepository,
    private readonly ownership: RoomOwnership,
    private readonly gateways: GatewayRegistry,
    @InjectQueue(SNAPSHOT_QUEUE) private readonly queue: Queue<SnapshotJobData>,
    @Inject(CONFIG) private readonly config: AppConfig,
  ) {}

  async sweep(jobId?: string): Promise<SweepResult> {
    const candidates = await this.backlog.roomsWithTail(this.config.snapshotEveryEvents, SWEEP_BATCH);
    if (candidates.length === 0) return { candidates: 0, queued: 0 };
    const [owners, gateways] = await Promise.all([this.ownership.ownersOf(candidates.map((c) => c.roomId)), this.gateways.list()]);
    const live = new Set(gateways.filter((gw) => gw.status !== 'gone').map((gw) => gw.id));
    const cold = candidates.filter((_, i) => {
      const owner = owners[i];
      return !owner || !live.has(owner);
    });
    if (cold.length > 0) {
      await this.queue.addBulk(
        cold.map((room) => ({
          name: SNAPSHOT_JOB,
          data: { roomId: room.roomId, seq: room.headSeq },
          opts: { ...SNAPSHOT_JOB_OPTIONS, jobId: snapshotJobId(room.roomId, room.headSeq) },
        })),
      );
      this.logger.log(`job ${jobId ?? '-'}: ${cold.length} cold room(s) of ${candidates.length} with a long tail queued for a snapshot`);
    }
    return { candidates: candidates.length, queued: cold.length };
  }
}
