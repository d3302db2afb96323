import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfigOrExit } from '../../../libs/config/src';
import { EXPORT_QUEUE, SNAPSHOT_QUEUE } from '../../../libs/jobs/src';
import { exitCleanlyOn, installProcessLogger } from '../../../libs/runtime/src';
import { loadWorkerConfigOrExit } from './worker.config';
import { WorkerModule } from './worker.module';

/**
 * The worker process (`npm run start:worker`): BullMQ processors for room log exports and cold-room
 * snapshots. No HTTP port. SIGTERM/SIGINT release the current job back to its queue, close the
 * workers and connections, and exit 0.
 */
const config = loadConfigOrExit();
const workerConfig = loadWorkerConfigOrExit();
const logger = installProcessLogger(config.log, { app: 'worker' });

async function bootstrap(): Promise<void> {
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, workerConfig), { logger });
  exitCleanlyOn(app, ['SIGTERM', 'SIGINT']);
  Logger.log(`worker ready (pid ${process.pid}): queues ${EXPORT_QUEUE}, ${SNAPSHOT_QUEUE}`, 'Worker');
}

bootstrap().catch((err: unknown) => {
  logger.fatal({ msg: 'worker failed to start', err }, 'Worker');
  process.exit(1);
});
