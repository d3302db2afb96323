import type { RedisOptions } from 'bullmq';

/**
 * BullMQ connection options for `REDIS_URL` (redis:// or rediss://, user, password, /db).
 * `maxRetriesPerRequest: null` as BullMQ requires for workers' blocking commands; every Queue and
 * Worker opens its own connections from these options.
 */
export function bullConnection(redisUrl: string): RedisOptions {
  const url = new URL(redisUrl);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`REDIS_URL: "${url.pathname.slice(1)}" is not a database number`);
  const options: RedisOptions = {
    host: url.hostname || '127.0.0.1',
    port: url.port ? Number(url.port) : 6379,
    db,
    maxRetriesPerRequest: null,
  };
  if (url.username) options.username = decodeURIComponent(url.username);
  if (url.password) options.password = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') options.tls = {};
  return options;
}
