import type { ConnectionOptions, RedisOptions } from 'bullmq';
import { createRedisClient, reconnectDelay, REDIS_CONNECT_TIMEOUT_MS, type RedisLogger, type RedisTarget } from '../../routing/src';

/**
 * BullMQ's key prefix on a Redis Cluster. BullMQ's scripts touch several keys of a queue at
 * once, so every key of a queue must hash to one slot: the `{…}` hash tag does that (BullMQ's
 * Redis Cluster guide). A single server keeps BullMQ's default `bull`, so jobs queued before an
 * upgrade are still found.
 */
export const CLUSTER_QUEUE_PREFIX = '{bull}';
export const DEFAULT_QUEUE_PREFIX = 'bull';

/**
 * BullMQ connection options for `REDIS_URL` (redis:// or rediss://, user, password, /db).
 * `maxRetriesPerRequest: null` as BullMQ requires for workers' blocking commands; every Queue and
 * Worker opens its own connections from these options, reconnecting like every other client.
 */
export function bullConnection(redisUrl: string): RedisOptions {
  const url = new URL(redisUrl);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`REDIS_URL: "${url.pathname.slice(1)}" is not a database number`);
  const options: RedisOptions = {
    host: url.hostname || '127.0.0.1',
    port: url.port ? Number(url.port) : 6379,
    db,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: null,
    retryStrategy: reconnectDelay,
  };
  if (url.username) options.username = decodeURIComponent(url.username);
  if (url.password) options.password = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') options.tls = {};
  return options;
}

/** What a BullMQ Queue or Worker is given, and how to close the connection the caller owns. */
export interface BullSetup {
  connection: ConnectionOptions;
  prefix: string;
  /** Closes the shared client, if this setup made one (BullMQ leaves a given client open). */
  close(): Promise<void>;
}

export function queuePrefix(target: RedisTarget): string {
  return target.redisClusterNodes?.length ? CLUSTER_QUEUE_PREFIX : DEFAULT_QUEUE_PREFIX;
}

/**
 * For processes that only add jobs (the API, the CLI): one client from the shared factory, with
 * the command timeout and fail-fast behaviour of every other client, so adding a job while Redis
 * is down fails at once instead of waiting in an offline queue (and running late).
 */
export function bullProducer(target: RedisTarget, logger?: RedisLogger): BullSetup {
  const client = createRedisClient(target, 'commands', logger);
  return { connection: client, prefix: queuePrefix(target), close: () => closeClient(client) };
}

/**
 * For the worker: on a single server, options from which BullMQ opens (and closes) its own
 * connections; on a cluster, one `Cluster` client that BullMQ duplicates for each worker's
 * blocking connection (BullMQ can only reach a cluster through a client it is given).
 */
export function bullWorker(target: RedisTarget, logger?: RedisLogger): BullSetup {
  if (!target.redisClusterNodes?.length) {
    return { connection: bullConnection(target.redisUrl), prefix: DEFAULT_QUEUE_PREFIX, close: async () => undefined };
  }
  const client = createRedisClient(target, 'jobs', logger);
  return { connection: client, prefix: CLUSTER_QUEUE_PREFIX, close: () => closeClient(client) };
}

async function closeClient(client: ReturnType<typeof createRedisClient>): Promise<void> {
  await client.quit().catch(() => client.disconnect());
}
