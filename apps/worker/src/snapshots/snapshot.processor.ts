import { type BeforeApplicationShutdown, Inject, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { type Job, type Queue, UnrecoverableError } from 'bullmq';
import {
  COLD_ROOM_SWEEP_JOB,
  COLD_ROOM_SWEEP_SCHEDULER,
  SNAPSHOT_JOB,
  SNAPSHOT_QUEUE,
  SWEEP_JOB_OPTIONS,
  WORKER_LOCK_DURATION_MS,
  WORKER_MAX_STALLED_COUNT,
  WORKER_STALLED_INTERVAL_MS,
  type SnapshotJobData,
} from '../../../../libs/jobs/src';
import { SnapshotRepository } from '../../../../libs/persistence/src';
import { SnapshotStore } from '../../../../libs/storage/src';
import { releaseJob } from '../job-release';
import { WORKER_CONFIG } from '../tokens';
import type { WorkerConfig } from '../worker.config';
import { ColdRoomSweeper, type SweepResult } from './cold-room.sweeper';
import { RoomStateBuilder } from './room-state.builder';

export interface SnapshotJobResult {
  /** `exists`: a snapshot at or past the seq was already there; `missing`: the room is gone. */
  outcome: 'saved' | 'stale' | 'exists' | 'missing';
  seq: number;
  bytes: number;
}

/**
 * Queue `snapshots`: the repeatable cold-room sweep and the snapshot jobs it queues. A snapshot
 * job rebuilds the room's state at the job's seq (newest snapshot + tail) and saves it under the
 * room's current epoch, so the next resume replays a short tail. `stale` (a gateway took the room
 * meanwhile) is a fine outcome: the new owner snapshots it itself. Running a job twice writes the
 * same snapshot again (DESIGN.md invariant 6).
 */
@Processor(SNAPSHOT_QUEUE, {
  concurrency: 1,
  lockDuration: WORKER_LOCK_DURATION_MS,
  stalledInterval: WORKER_STALLED_INTERVAL_MS,
  maxStalledCount: WORKER_MAX_STALLED_COUNT,
})
export class SnapshotProcessor extends WorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SnapshotProcessor.name);

  constructor(
    private readonly sweeper: ColdRoomSweeper,
    private readonly builder: RoomStateBuilder,
    private readonly snapshots: SnapshotRepository,
    private readonly store: SnapshotStore,
    @InjectQueue(SNAPSHOT_QUEUE) private readonly queue: Queue,
    @Inject(WORKER_CONFIG) private readonly workerConfig: WorkerConfig,
  ) {
    super();
  }

  /** (Re)schedules the sweep; every worker upserts the same scheduler, so there is one schedule. */
  async onApplicationBootstrap(): Promise<void> {
    const every = this.workerConfig.coldSnapshotSweepMs;
    if (every === 0) {
      await this.queue.removeJobScheduler(COLD_ROOM_SWEEP_SCHEDULER);
      this.logger.log('cold-room snapshot sweep is off (COLD_SNAPSHOT_SWEEP_MS=0)');
      return;
    }
    await this.queue.upsertJobScheduler(COLD_ROOM_SWEEP_SCHEDULER, { every }, { name: COLD_ROOM_SWEEP_JOB, opts: SWEEP_JOB_OPTIONS });
    this.logger.log(`cold-room snapshot sweep every ${every} ms`);
  }

  async process(job: Job, token?: string, signal?: AbortSignal): Promise<SnapshotJobResult | SweepResult> {
    switch (job.name) {
      case COLD_ROOM_SWEEP_JOB:
        return this.sweeper.sweep(job.id);
      case SNAPSHOT_JOB:
        try {
          return await this.snapshot(job as Job<SnapshotJobData>, signal);
        } catch (err) {
          if (signal?.aborted) throw await releaseJob(job, token);
          this.logger.error(`job ${job.id}: ${(err as Error).message}`);
          throw err;
        }
      default:
        throw new UnrecoverableError(`unknown job "${job.name}" on queue ${SNAPSHOT_QUEUE}`);
    }
  }

  private async snapshot(job: Job<SnapshotJobData>, signal?: AbortSignal): Promise<SnapshotJobResult> {
    const { roomId, seq } = job.data;
    // Read before the rebuild: a lease taken meanwhile raises it and the save comes back stale.
    const epoch = await this.snapshots.currentEpoch(roomId);
    if (epoch === null) return { outcome: 'missing', seq, bytes: 0 };
    const latest = await this.snapshots.latest(roomId);
    if (latest && latest.seq >= seq) return { outcome: 'exists', seq: latest.seq, bytes: latest.bytes };
    const started = Date.now();
    const built = await this.builder.build(roomId, seq, signal);
    const saved = await this.store.save(built.state, epoch);
    this.logger.log(
      `job ${job.id}: room ${roomId} snapshot at seq ${seq} ${saved.outcome} (${saved.bytes} bytes; ` +
        `${built.replayed} events replayed from seq ${built.fromSnapshotSeq}) in ${Date.now() - started} ms`,
    );
    return { outcome: saved.outcome, seq: saved.seq, bytes: saved.bytes };
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.worker.cancelAllJobs('worker shutting down');
    await this.worker.close();
  }
}
