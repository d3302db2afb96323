import type { S3Client } from '@aws-sdk/client-s3';
import { loadConfigOrExit, type AppConfig } from '../../../libs/config/src';
import { Database } from '../../../libs/persistence/src';
import { createRedisClient, GatewayRegistry, type RedisClient } from '../../../libs/routing/src';
import { createS3Client } from '../../../libs/storage/src';

/**
 * The CLI's connections to Postgres, Redis and S3, from the same environment the services read.
 * Each is opened on first use and all are closed by `close()`. The CLI fails fast: an unreachable
 * Redis is an error within the routing deadline (about a second), not an endless wait.
 */
export class CliContext {
  readonly config: AppConfig = loadConfigOrExit();
  private database?: Database;
  private redisClient?: RedisClient;
  private s3Client?: S3Client;

  get db(): Database {
    this.database ??= new Database(this.config.databaseUrl, { poolSize: 2, applicationName: 'cli' });
    return this.database;
  }

  get redis(): RedisClient {
    this.redisClient ??= createRedisClient(this.config);
    return this.redisClient;
  }

  get s3(): S3Client {
    this.s3Client ??= createS3Client(this.config.s3);
    return this.s3Client;
  }

  get gateways(): GatewayRegistry {
    return new GatewayRegistry(this.redis, this.config.gatewayTtlSeconds);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.database?.close(), this.redisClient?.quit()]);
    this.s3Client?.destroy();
  }
}
