import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
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
