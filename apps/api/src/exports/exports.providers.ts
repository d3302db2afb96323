import type { Provider } from '@nestjs/common';
import { BullModule, getQueueToken } from '@nestjs/bullmq';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Queue } from 'bullmq';
import type { AppConfig } from '../../../../libs/config/src';
import { type BullSetup, EXPORT_QUEUE, ExportRequests } from '../../../../libs/jobs/src';
import { Database, ExportRepository, RoomRepository } from '../../../../libs/persistence/src';
import { createS3Client, ExportStore } from '../../../../libs/storage/src';
import { ExportsService } from './exports.service';

const EXPORTS_S3 = Symbol('EXPORTS_S3');
const JOBS_CONNECTION = Symbol('JOBS_CONNECTION');

/** The BullMQ producer side of the API: the `exports` queue (jobs run in apps/worker). */
export function exportsImports(jobs: BullSetup) {
  return [BullModule.forRoot({ connection: jobs.connection, prefix: jobs.prefix }), BullModule.registerQueue({ name: EXPORT_QUEUE })];
}

/** What ExportsController needs; Database and RoomRepository come from the API module. */
export function exportsProviders(config: AppConfig, jobs: BullSetup): Provider[] {
  return [
    // BullMQ leaves a connection it was given open: close it with the application.
    { provide: JOBS_CONNECTION, useFactory: () => ({ onApplicationShutdown: () => jobs.close() }) },
    { provide: ExportRepository, useFactory: (db: Database) => new ExportRepository(db), inject: [Database] },
    // Downloads are piped to the HTTP client with backpressure: a slow reader pauses the S3
    // socket, which must not count as a dead connection after the default 5 s.
    { provide: EXPORTS_S3, useFactory: () => createS3Client(config.s3, { requestTimeoutMs: 120_000 }) },
    { provide: ExportStore, useFactory: (s3: S3Client) => new ExportStore(s3, config.s3.bucket), inject: [EXPORTS_S3] },
    {
      provide: ExportRequests,
      useFactory: (rooms: RoomRepository, exports: ExportRepository, queue: Queue) => new ExportRequests(rooms, exports, queue),
      inject: [RoomRepository, ExportRepository, getQueueToken(EXPORT_QUEUE)],
    },
    ExportsService,
  ];
}
