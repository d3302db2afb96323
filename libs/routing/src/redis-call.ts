import { DomainError } from '../../domain/src';
import type { RedisClient } from './redis-connection';

/**
 * Bound on one routing operation against Redis (ms), all its round trips included. ioredis's
 * own command timeout does not cover a Redis Cluster's offline queue (commands wait there for
 * ever while no node answers), so the bound is kept here, where every routing call passes.
 */
export const REDIS_DEADLINE_MS = 1_200;

const UNREACHABLE_MESSAGE = 'redis unreachable';

/** The error every Redis outage becomes: 503 `unavailable` over HTTP, an `unavailable` ack or handshake. */
export function redisUnreachable(): DomainError {
  return new DomainError('unavailable', UNREACHABLE_MESSAGE);
}

/** Whether `err` is the error of `redisUnreachable()`. */
export function isRedisUnreachable(err: unknown): boolean {
  return err instanceof DomainError && err.code === 'unavailable' && err.message === UNREACHABLE_MESSAGE;
}

/** Client states in which a command can only wait or fail: fail at once instead. */
const DOWN_STATES = new Set(['reconnecting', 'close', 'end', 'disconnecting']);

/** Replies by which a reachable Redis says it cannot serve now (a cluster failing over, a server loading). */
const UNAVAILABLE_REPLY = /^(CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|READONLY)\b/;
/** ioredis errors of connections and timeouts (by name, by Node's errno code, or by message). */
const CONNECTION_ERROR_NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError']);
const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const CONNECTION_ERROR_MESSAGE =
  /Connection is closed|Command timed out|Stream isn't writeable|Cluster isn't ready|None of startup nodes is available|Failed to refresh slots cache|connect ETIMEDOUT|Redis did not answer/;

/**
 * Whether `err` means that Redis could not be reached or answered too late, as opposed to a
 * bug (a WRONGTYPE or CROSSSLOT reply, a TypeError), which must stay a loud 500.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'ReplyError') return UNAVAILABLE_REPLY.test(err.message);
  if (CONNECTION_ERROR_NAMES.has(err.name)) return true;
  const code = (err as NodeJS.ErrnoException).code;
  if (code && CONNECTION_ERROR_CODES.has(code)) return true;
  return CONNECTION_ERROR_MESSAGE.test(err.message);
}

/**
 * Runs one routing operation against Redis within `deadlineMs`, and turns every way Redis can
 * be unreachable (refused, reset, hung, a cluster without a quorum) into `redisUnreachable()`.
 * A client that already knows Redis is down fails at once, so requests do not queue behind a
 * dead connection. The one place where Redis failures are mapped (DESIGN.md invariant 12).
 */
export async function redisCall<T>(client: RedisClient, operation: () => Promise<T>, deadlineMs = REDIS_DEADLINE_MS): Promise<T> {
  if (DOWN_STATES.has(client.status)) throw redisUnreachable();
  let timer: NodeJS.Timeout | undefined;
  const running = operation();
  // A late failure after the deadline must not surface as an unhandled rejection.
  running.catch(() => undefined);
  try {
    return await Promise.race([
      running,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer within ${deadlineMs} ms`)), deadlineMs);
      }),
    ]);
  } catch (err) {
    if (err instanceof DomainError) throw err;
    if (isRedisUnavailable(err)) throw redisUnreachable();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** The results of a pipeline or MULTI, throwing the first command's error. */
export function execResults(results: Array<[Error | null, unknown]> | null): unknown[] {
  if (!results) throw new Error('Connection is closed (transaction discarded)');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
