/**
 * Issue 8, acceptance 2: the migration that partitions `room_events` upgrades a database already
 * holding 100k events without losing one.
 *
 * A scratch database (fresh name, dropped afterwards) is migrated exactly as a deployment of the
 * previous release would have left it: scripts/db-migrate.mjs runs from a staged copy of the
 * project holding only the migrations before the partitioning one. It is filled by SQL with
 * 100k events over 200 rooms, then `npm run db:migrate` of this checkout applies what is
 * pending, as an operator's upgrade would. Count and checksum of every column of every row must
 * be unchanged, and the repositories must still append with their guarantees. The migration's
 * duration is reported as a figure, never asserted.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { Database, EventLogRepository, RoomRepository, pgErrorCode, type NewEvent } from '../libs/persistence/src';
import { reportFigure } from './support/figures';
import { baseEnv, ROOT } from './support/processes';

jest.setTimeout(240_000);
const run = promisify(execFile);

const SUITE = 'migrate-partitioned-log';
const PARTITIONING = '20261127000000_room_events_partitioned';
const ROOMS = 200;
const EVENTS_PER_ROOM = 500;

/**
 * 200 rooms of 500 events each (100k): room.created, posts, edits and deletions; system events
 * with no actor; clientMsgIds on every third; text with quotes, backslashes, newlines and
 * non-ASCII; millisecond timestamps. Each room's head is its last seq, as the log's fence needs.
 */
const FILL_SQL = `
WITH u AS (
  INSERT INTO users (username, password_hash) SELECT 'upgrade_user_' || i, 'not-a-real-hash' FROM generate_series(1, 5) i
  RETURNING id, username
), actors AS (
  SELECT id, username, row_number() OVER (ORDER BY username) - 1 AS k FROM u
), r AS (
  INSERT INTO rooms (name, created_by, head_seq)
  SELECT 'upgrade room ' || i, (SELECT id FROM actors WHERE k = 0), ${EVENTS_PER_ROOM} FROM generate_series(1, ${ROOMS}) i
  RETURNING id, created_at
)
INSERT INTO room_events (room_id, seq, type, actor_id, actor_username, client_msg_id, data, created_at)
SELECT r.id, g,
  CASE WHEN g = 1 THEN 'room.created' WHEN g % 97 = 0 THEN 'message.edited' WHEN g % 89 = 0 THEN 'message.deleted' ELSE 'message.posted' END,
  CASE WHEN g % 13 = 0 THEN NULL ELSE a.id END,
  CASE WHEN g % 13 = 0 THEN NULL ELSE a.username END,
  CASE WHEN g % 3 = 0 AND g % 13 <> 0 THEN 'c-' || g ELSE NULL END,
  CASE WHEN g = 1 THEN jsonb_build_object('name', 'upgrade room')
       WHEN g % 97 = 0 THEN jsonb_build_object('seq', g - 1, 'text', 'edited "quoted" é ' || g)
       WHEN g % 89 = 0 THEN jsonb_build_object('seq', g - 2)
       ELSE jsonb_build_object('text', 'message ' || g || E' \\\\ back\\nslash ü ' || md5(r.id::text || g)) END,
  r.created_at + make_interval(secs => g / 1000.0)
FROM r CROSS JOIN generate_series(1, ${EVENTS_PER_ROOM}) g
JOIN actors a ON a.k = g % 5`;

/** Row count and an md5 over every column of every row in (room_id, seq) order: independent of physical order. */
const CHECKSUM_SQL = `
SELECT count(*)::int AS n,
       md5(string_agg(format('%L|%L|%L|%L|%L|%L|%L|%L', room_id, seq, type, actor_id, actor_username, client_msg_id, data,
                             (extract(epoch FROM created_at) * 1000)::bigint), E'\\n' ORDER BY room_id, seq)) AS checksum
  FROM room_events`;

/**
 * A copy of the project as the previous release had it, for migrating: the migrate script, the
 * schema, the migrations before `PARTITIONING`, and this checkout's node_modules (a link).
 */
function stagePreviousRelease(): string {
  const dir = mkdtempSync(join(tmpdir(), 'durable-rooms-previous-'));
  mkdirSync(join(dir, 'scripts'));
  copyFileSync(join(ROOT, 'scripts/db-migrate.mjs'), join(dir, 'scripts/db-migrate.mjs'));
  mkdirSync(join(dir, 'prisma/migrations'), { recursive: true });
  copyFileSync(join(ROOT, 'prisma/schema.prisma'), join(dir, 'prisma/schema.prisma'));
  copyFileSync(join(ROOT, 'prisma/migrations/migration_lock.toml'), join(dir, 'prisma/migrations/migration_lock.toml'));
  const earlier = readdirSync(join(ROOT, 'prisma/migrations'), { withFileTypes: true }).filter((d) => d.isDirectory() && d.name < PARTITIONING);
  for (const d of earlier) cpSync(join(ROOT, 'prisma/migrations', d.name), join(dir, 'prisma/migrations', d.name), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

describe('partitioning migration on a database holding 100k events (e2e)', () => {
  const name = `durable_rooms_upgrade_${randomBytes(4).toString('hex')}`;
  const base = new URL(baseEnv().DATABASE_URL!);
  const target = Object.assign(new URL(base.toString()), { pathname: `/${name}` }).toString();
  const migrateWith = (root: string) =>
    run(process.execPath, [join(root, 'scripts/db-migrate.mjs')], { cwd: root, env: { ...baseEnv(), DATABASE_URL: target } });
  let previous: string | undefined;
  let sql: Client | undefined;
  let db: Database | undefined;

  afterAll(async () => {
    await sql?.end().catch(() => undefined);
    await db?.close();
    if (previous) rmSync(previous, { recursive: true, force: true });
    const admin = new Client({ connectionString: Object.assign(new URL(base.toString()), { pathname: '/postgres' }).toString() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });

  it('keeps every event (count and checksum), partitions the log, and appends keep their guarantees', async () => {
    previous = stagePreviousRelease();
    await migrateWith(previous);
    sql = new Client({ connectionString: target });
    await sql.connect();
    const relkind = () => sql!.query<{ relkind: string }>(`SELECT relkind FROM pg_class WHERE oid = 'room_events'::regclass`);
    expect((await relkind()).rows[0]!.relkind).toBe('r');

    await sql.query(FILL_SQL);
    const before = (await sql.query<{ n: number; checksum: string }>(CHECKSUM_SQL)).rows[0]!;
    expect(before.n).toBe(ROOMS * EVENTS_PER_ROOM);

    const started = process.hrtime.bigint();
    const upgrade = await migrateWith(ROOT);
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(upgrade.stdout).toContain(`Applied migration ${PARTITIONING}`);
    const recorded = await sql.query<{ ms: number }>(
      `SELECT extract(epoch FROM finished_at - started_at) * 1000 AS ms FROM _prisma_migrations WHERE migration_name = $1`,
      [PARTITIONING],
    );
    reportFigure(SUITE, 'partitioning migration of 100k events (in Postgres)', Number(recorded.rows[0]!.ms), 'ms', { rooms: ROOMS, events: before.n });
    reportFigure(SUITE, 'npm run db:migrate applying it (whole process)', wallMs, 'ms', { rooms: ROOMS, events: before.n });

    const after = (await sql.query<{ n: number; checksum: string }>(CHECKSUM_SQL)).rows[0]!;
    expect(after).toEqual(before);

    expect((await relkind()).rows[0]!.relkind).toBe('p');
    const partitions = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'room_events'::regclass`);
    expect(partitions.rows[0]!.n).toBeGreaterThanOrEqual(8);
    const spread = await sql.query<{ holding: number; split: number }>(
      `SELECT count(DISTINCT tableoid)::int AS holding,
              (SELECT count(*)::int FROM (SELECT room_id FROM room_events GROUP BY room_id HAVING count(DISTINCT tableoid) > 1) s) AS split
         FROM room_events`,
    );
    expect(spread.rows[0]!.holding).toBeGreaterThanOrEqual(8);
    expect(spread.rows[0]!.split).toBe(0);

    // Appends through the repository, on a room that came through the migration.
    db = new Database(target, { applicationName: 'migrate-partitioned-log-e2e' });
    const rooms = new RoomRepository(db);
    const log = new EventLogRepository(db);
    const { rows: picked } = await sql.query<{ id: string; actor_id: string; actor_username: string }>(
      `SELECT r.id, e.actor_id, e.actor_username FROM rooms r JOIN room_events e ON e.room_id = r.id AND e.seq = 3 ORDER BY r.id LIMIT 2`,
    );
    const [room, doomed] = picked as [(typeof picked)[0], (typeof picked)[0]];
    const lease = (await rooms.takeLease(room.id, 'gw-upgrade'))!;
    expect(lease.headSeq).toBe(EVENTS_PER_ROOM);
    const ev = (seq: number, clientMsgId: string | null): NewEvent => ({
      seq,
      type: 'message.posted',
      actorId: room.actor_id,
      actorUsername: room.actor_username,
      clientMsgId,
      data: { text: `after the upgrade ${seq}` },
      ts: new Date().toISOString(),
    });
    const head = EVENTS_PER_ROOM;

    expect((await log.appendBatch([{ roomId: room.id, epoch: lease.epoch, events: [ev(head + 1, 'new-1')] }])).get(room.id)).toBe('committed');
    // Fencing: an older epoch writes nothing.
    expect((await log.appendBatch([{ roomId: room.id, epoch: lease.epoch - 1, events: [ev(head + 2, 'new-2')] }])).get(room.id)).toBe('fenced');
    // Gap-freedom: a batch that skips a seq after the head writes nothing.
    expect((await log.appendBatch([{ roomId: room.id, epoch: lease.epoch, events: [ev(head + 3, 'new-3')] }])).get(room.id)).toBe('fenced');
    // The unique (room_id, actor_id, client_msg_id) still holds on the migrated rows ('c-3' was bulk-filled).
    const duplicate = await log.appendBatch([{ roomId: room.id, epoch: lease.epoch, events: [ev(head + 2, 'c-3')] }]).catch((e: unknown) => e);
    expect(pgErrorCode(duplicate)).toBe('23505');

    expect((await rooms.leaseState(room.id))!.headSeq).toBe(head + 1);
    const seqs = (await log.readAfter(room.id, 0, EVENTS_PER_ROOM + 10)).map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: head + 1 }, (_, i) => i + 1));

    // A deleted room still takes its events with it (since migration 20261128000000_log_without_room_fks
    // by a trigger on rooms, no longer by a per-row foreign key).
    await sql.query('DELETE FROM rooms WHERE id = $1', [doomed.id]);
    const left = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM room_events WHERE room_id = $1', [doomed.id]);
    expect(left.rows[0]!.n).toBe(0);
  });
});
