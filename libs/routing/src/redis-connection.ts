import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** A single Redis server or a Redis Cluster: the routing code works with either. */
export type RedisClient = Redis | Cluster;

/** Where Redis is (from the config): REDIS_CLUSTER_NODES when set, REDIS_URL otherwise. */
export interface RedisTarget {
  redisUrl: string;
  redisClusterNodes?: ReadonlyArray<{ host: string; port: number }>;
}

/** A command that got no answer for this long fails (ms): a hung Redis must not hang a request. */
export const REDIS_COMMAND_TIMEOUT_MS = 1_000;
/** A connection attempt that did not complete for this long is abandoned and retried (ms). */
export const REDIS_CONNECT_TIMEOUT_MS = 2_000;

/** Reconnects 100 ms, 200 ms, … apart, at most 1 s, for ever: service resumes within a second of Redis returning. */
export function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 100, 1_000);
}

/**
 * What the client is for. `commands`: the services' own calls (routing, registry, health), each
 * bounded by REDIS_COMMAND_TIMEOUT_MS and failed after one reconnect attempt, so a request never
 * waits on a Redis that is down. `jobs`: BullMQ, whose workers block on purpose and need
 * `maxRetriesPerRequest: null` and no command timeout.
 */
export type RedisPurpose = 'commands' | 'jobs';

export function redisOptions(purpose: RedisPurpose): RedisOptions {
  return purpose === 'jobs'
    ? { connectTimeout: REDIS_CONNECT_TIMEOUT_MS, maxRetriesPerRequest: null, retryStrategy: reconnectDelay }
    : {
        connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
        commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
        maxRetriesPerRequest: 1,
        // Commands issued before the first connection (at start-up) wait for it, bounded by
        // the command timeout; once the client knows Redis is down, redisCall fails fast.
        enableOfflineQueue: true,
        retryStrategy: reconnectDelay,
      };
}

export function clusterOptions(purpose: RedisPurpose): ClusterOptions {
  const { retryStrategy: _nodeRetry, ...nodeOptions } = redisOptions(purpose);
  return {
    redisOptions: nodeOptions,
    clusterRetryStrategy: reconnectDelay,
    enableOfflineQueue: true,
    slotsRefreshTimeout: REDIS_COMMAND_TIMEOUT_MS,
    // A failover in the cluster (a master replaced) answers CLUSTERDOWN/TRYAGAIN for a moment.
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
  };
}

/** Where a client reports that Redis went away and came back (a Nest Logger fits). */
export interface RedisLogger {
  warn(message: string): void;
  log(message: string): void;
}

/**
 * The one place every process makes its Redis client: a `Cluster` over the seed nodes when
 * REDIS_CLUSTER_NODES is set, a `Redis` on REDIS_URL otherwise, with the same timeouts and
 * reconnect policy either way. An outage is logged once when it starts and once when it ends,
 * not at every reconnect attempt.
 */
export function createRedisClient(target: RedisTarget, purpose: RedisPurpose = 'commands', logger?: RedisLogger): RedisClient {
  const cluster = Boolean(target.redisClusterNodes && target.redisClusterNodes.length > 0);
  const client = cluster
    ? new Cluster(
        target.redisClusterNodes!.map((node) => ({ host: node.host, port: node.port })),
        clusterOptions(purpose),
      )
    : new Redis(target.redisUrl, redisOptions(purpose));
  if (purpose === 'commands') {
    // Start-up commands wait for the first connection; from then on a command issued while
    // Redis is unreachable fails at once instead of queueing (a Cluster's offline queue has no
    // timeout at all) and running late, after its caller gave up.
    client.once('ready', () => {
      client.options.enableOfflineQueue = false;
    });
  }
  const what = cluster ? 'Redis Cluster' : 'Redis';
  let down = false;
  client.on('error', (err: Error) => {
    if (down) return;
    down = true;
    logger?.warn(`${what} unreachable: ${err.message} (retrying every second at most)`);
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    logger?.log(`${what} reachable again`);
  });
  return client;
}

/** True for a Redis Cluster client. */
export function isCluster(client: RedisClient): client is Cluster {
  return (client as Cluster).isCluster === true;
}
