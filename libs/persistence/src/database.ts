import { PrismaPg } from '@prisma/adapter-pg';
import { Pool, type PoolClient, type PoolConfig } from 'pg';
import { PrismaClient } from './generated/prisma/client';

// Deadlines of every Postgres connection of a process, Prisma's and the plain pool's alike
// (DESIGN.md invariant 12): a down or unreachable Postgres fails a call within seconds
// (`unavailable`), never after the OS's TCP timeout, and never leaves a pool's few connections
// stuck so that every later call queues behind them. Prisma only runs short single-row
// statements (users, room lookup and creation); exports and rebuilds page through the plain pool.

/** A new connection, or a wait for a free one of the pool. */
const DB_CONNECT_TIMEOUT_MS = 3_000;
/** One statement's round trip, measured by the client (it also catches a silently dead link). */
const DB_QUERY_TIMEOUT_MS = 10_000;
const DEADLINES = { connectionTimeoutMillis: DB_CONNECT_TIMEOUT_MS, query_timeout: DB_QUERY_TIMEOUT_MS } satisfies PoolConfig;
/** Connections of Prisma's pool (logins, room lookups and creation: short single-row statements). */
const PRISMA_POOL_SIZE = 5;

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
    // adapter-pg hands this config to its own `pg.Pool`: the same deadlines as the pool below.
    this.prisma = new PrismaClient({
      adapter: new PrismaPg({ connectionString, max: PRISMA_POOL_SIZE, application_name: applicationName, ...DEADLINES }),
    });
    this.pool = new Pool({
      connectionString,
      max: options.poolSize ?? 5,
      application_name: `${applicationName}-log`,
      // Fail fast when Postgres is down so sends get `unavailable` instead of hanging.
      ...DEADLINES,
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
