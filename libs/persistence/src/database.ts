import { PrismaPg } from '@prisma/adapter-pg';
import { DatabaseError, Pool, type PoolClient } from 'pg';
import { PrismaClient } from './generated/prisma/client';

/**
 * The two database handles of a process: Prisma for ordinary reads and writes, and a plain `pg`
 * pool for the hot append path, where one multi-row `INSERT … unnest` statement per group commit
 * must stay free of ORM overhead. Both live here so nothing outside libs/persistence touches SQL.
 */
export class Database {
  readonly prisma: PrismaClient;
  readonly pool: Pool;

  constructor(connectionString: string, options: { poolSize?: number; applicationName?: string } = {}) {
    const applicationName = options.applicationName ?? 'durable-rooms';
    this.prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString, max: 5, application_name: applicationName }) });
    this.pool = new Pool({
      connectionString,
      max: options.poolSize ?? 5,
      application_name: `${applicationName}-log`,
      // Fail fast when Postgres is down so sends get `unavailable` instead of hanging.
      connectionTimeoutMillis: 3_000,
      query_timeout: 10_000,
    });
    // An idle client losing its connection (Postgres restart) must not crash the process.
    this.pool.on('error', () => undefined);
  }

  /** True when Postgres answers a trivial query. */
  async ping(): Promise<boolean> {
    try {
      await this.pool.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.prisma.$disconnect(), this.pool.end()]);
  }
}

/**
 * Runs `work` in one transaction on a connection of `pool`: BEGIN, then COMMIT, or ROLLBACK when
 * `work` throws (the error is rethrown). A connection whose ROLLBACK did not go through is
 * destroyed, not returned to the pool: after a client-side `query_timeout` the timed-out
 * statement is still running on it inside the open transaction, and a later borrower's
 * autocommit statements would run inside that transaction, reported as committed while they
 * are not.
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw err;
  } finally {
    client.release(broken);
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Room and user ids are UUIDs; anything else names nothing (404, not 400). */
export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

/** Postgres error codes this layer reacts to. */
export function pgErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Whose fault a failed statement was, for a caller that shares one statement among many parties:
 * - `connection`: Postgres did not answer the statement itself (a socket error, a refused or
 *   timed-out connection, a client-side query timeout), or answered that it cannot serve now:
 *   class 08 connection exception, 53 insufficient resources, 57 operator intervention
 *   (shutdown, a statement timeout), 58 system error, XX internal error. Nothing says the rows
 *   were wrong, and if the link broke during COMMIT the outcome is unknown.
 * - `data`: Postgres refused the rows themselves: class 22 data exception (e.g. U+0000 in jsonb)
 *   or 23 integrity constraint violation (e.g. a duplicate key). The same rows fail again,
 *   whoever sends them and with whatever else.
 * - `statement`: any other error Postgres answered with (e.g. class 40 transaction rollback,
 *   42 a statement it cannot run).
 */
export type DbFailure = 'connection' | 'data' | 'statement';

const CONNECTION_CLASSES = new Set(['08', '53', '57', '58', 'XX']);
const DATA_CLASSES = new Set(['22', '23']);

export function classifyDbError(err: unknown): DbFailure {
  // Only an error Postgres sent has a SQLSTATE; node's socket errors have codes like EPIPE.
  if (!(err instanceof DatabaseError) || typeof err.code !== 'string') return 'connection';
  const sqlClass = err.code.slice(0, 2);
  if (CONNECTION_CLASSES.has(sqlClass)) return 'connection';
  return DATA_CLASSES.has(sqlClass) ? 'data' : 'statement';
}
