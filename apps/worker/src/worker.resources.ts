import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../../../libs/config/src';
import { Database } from '../../../libs/persistence/src';
import { ensureBucket } from '../../../libs/storage/src';
import { CONFIG, REDIS, S3 } from './tokens';

/**
 * The worker's connections: the bucket is made sure of before any job runs, and everything is
 * closed last on shutdown (after the processors released their jobs and closed their workers in
 * beforeApplicationShutdown).
 */
@Injectable()
export class WorkerResources implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerResources.name);

  constructor(
    @Inject(CONFIG) private readonly config: AppConfig,
    private readonly db: Database,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(S3) private readonly s3: S3Client,
  ) {}

  async onModuleInit(): Promise<void> {
    await ensureBucket(this.s3, this.config.s3.bucket);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.db.close(), this.redis.quit()]);
    this.s3.destroy();
    this.logger.log('connections closed');
  }
}
