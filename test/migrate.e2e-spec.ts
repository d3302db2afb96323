/**
 * `npm run db:migrate` on a database that does not exist yet: it creates it, applies every
 * committed migration offline, and a second run applies nothing.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { baseEnv, ROOT } from './support/processes';

jest.setTimeout(120_000);
const run = promisify(execFile);

describe('db:migrate (e2e)', () => {
  const name = `durable_rooms_migrate_${randomBytes(4).toString('hex')}`;
  const base = new URL(baseEnv().DATABASE_URL!);
  const target = new URL(base.toString());
  target.pathname = `/${name}`;

  afterAll(async () => {
    const admin = new Client({ connectionString: Object.assign(new URL(base.toString()), { pathname: '/postgres' }).toString() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });

  it('creates the database, applies every migration, and is idempotent', async () => {
    const migrate = () => run(process.execPath, [join(ROOT, 'scripts/db-migrate.mjs')], { cwd: ROOT, env: { ...baseEnv(), DATABASE_URL: target.toString() } });
    const first = await migrate();
    const migrations = readdirSync(join(ROOT, 'prisma/migrations'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    for (const m of migrations) expect(first.stdout).toContain(m);

    const db = new Client({ connectionString: target.toString() });
    await db.connect();
    try {
      const { rows } = await db.query<{ migration_name: string }>('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name');
      expect(rows.map((r) => r.migration_name)).toEqual([...migrations].sort());
      const tables = await db.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
      expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['users', 'rooms', 'room_events', 'room_snapshots', 'exports']));
      const pk = await db.query("SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'room_events_pkey'");
      expect(pk.rows[0].def).toBe('PRIMARY KEY (room_id, seq)');
    } finally {
      await db.end();
    }

    const second = await migrate();
    expect(second.stdout).toMatch(/No pending migrations/);
  });

  it('fails with one clear line when Postgres cannot be reached', async () => {
    const unreachable = new URL(target.toString());
    unreachable.port = '1';
    await expect(
      run(process.execPath, [join(ROOT, 'scripts/db-migrate.mjs')], { cwd: ROOT, env: { ...baseEnv(), DATABASE_URL: unreachable.toString() } }),
    ).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/127\.0\.0\.1:1/) });
  });
});
