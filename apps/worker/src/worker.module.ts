import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { BullModule, getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import type { S3Client } from '@aws-sdk/client-s3';
import type { AppConfig } from '../../../libs/config/src';
import { bullWorker, EXPORT_QUEUE, SNAPSHOT_QUEUE } from '../../../libs/jobs/src';
import {
  Database,
  EventLogRepository,
  ExportRepository,
  SnapshotBacklogRepository,
  SnapshotRepository,
} from '../../../libs/persistence/src';
import { createRedisClient, GatewayRegistry, RoomOwnership, type RedisClient } from '../../../libs/routing/src';
import { createS3Client, ExportStore, SnapshotEncoder, SnapshotStore, WorkerSnapshotEncoder } from '../../../libs/storage/src';
import { ExportProcessor } from './exports/export.processor';
import { WorkerMetricsServer } from './metrics/worker-metrics.server';
import { WorkerMetrics } from './metrics/worker.metrics';
import { ColdRoomSweeper } from './snapshots/cold-room.sweeper';
import { RoomStateBuilder } from './snapshots/room-state.builder';
import { SnapshotProcessor } from './snapshots/snapshot.processor';
import { CONFIG, REDIS, S3, WORKER_CONFIG } from './tokens';
import type { WorkerConfig } from './worker.config';
import { WorkerResources } from './worker.resources';

const JOBS_CONNECTION = Symbol('JOBS_CONNECTION');

/** The worker: BullMQ processors over plain classes; an HTTP server only for `/metrics`, when PORT is set. */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig, workerConfig: WorkerConfig): DynamicModule {
    const jobs = bullWorker(config, new Logger('JobQueue'));
    return {
      module: WorkerModule,
      imports: [
        BullModule.forRoot({ connection: jobs.connection, prefix: jobs.prefix }),
        BullModule.registerQueue({ name: EXPORT_QUEUE }, { name: SNAPSHOT_QUEUE }),
      ],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: WORKER_CONFIG, useValue: workerConfig },
        { provide: Database, useFactory: () => new Database(config.databaseUrl, { poolSize: 4, applicationName: 'worker' }) },
        { provide: REDIS, useFactory: () => createRedisClient(config, 'commands', new Logger('Redis')) },
        // BullMQ leaves a connection it was given (the cluster client) open: close it last.
        { provide: JOBS_CONNECTION, useFactory: () => ({ onApplicationShutdown: () => jobs.close() }) },
        { provide: S3, useFactory: () => createS3Client(config.s3) },
        { provide: EventLogRepository, useFactory: (db: Database) => new EventLogRepository(db), inject: [Database] },
        { provide: SnapshotRepository, useFactory: (db: Database) => new SnapshotRepository(db), inject: [Database] },
        { provide: ExportRepository, useFactory: (db: Database) => new ExportRepository(db), inject: [Database] },
        { provide: SnapshotBacklogRepository, useFactory: (db: Database) => new SnapshotBacklogRepository(db), inject: [Database] },
        { provide: RoomOwnership, useFactory: (redis: RedisClient) => new RoomOwnership(redis), inject: [REDIS] },
        { provide: GatewayRegistry, useFactory: (redis: RedisClient) => new GatewayRegistry(redis, config.gatewayTtlSeconds), inject: [REDIS] },
        { provide: ExportStore, useFactory: (s3: S3Client) => new ExportStore(s3, config.s3.bucket), inject: [S3] },
        // Encoding off the event loop keeps BullMQ's lock renewals on time; the threads end in
        // onApplicationShutdown, after the processors closed their workers.
        { provide: SnapshotEncoder, useFactory: () => new WorkerSnapshotEncoder() },
        {
          provide: SnapshotStore,
          useFactory: (s3: S3Client, repo: SnapshotRepository, encoder: SnapshotEncoder) =>
            new SnapshotStore(s3, config.s3.bucket, repo, undefined, encoder),
          inject: [S3, SnapshotRepository, SnapshotEncoder],
        },
        WorkerResources,
        RoomStateBuilder,
        ColdRoomSweeper,
        ExportProcessor,
        SnapshotProcessor,
        {
          provide: WorkerMetrics,
          useFactory: (exportQueue: Queue, snapshotQueue: Queue) => new WorkerMetrics([exportQueue, snapshotQueue]),
          inject: [getQueueToken(EXPORT_QUEUE), getQueueToken(SNAPSHOT_QUEUE)],
        },
        WorkerMetricsServer,
      ],
    };
  }
}
