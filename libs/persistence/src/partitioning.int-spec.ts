import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { Database } from './database';
import { EventLogRepository, type NewEvent } from './event-log.repository';
import { ExportRepository } from './export.repository';
import { RoomRepository } from './room.repository';
import { UserRepository, type UserRecord } from './user.repository';

/**
 * Real Postgres, migrated: `room_events` is hash-partitioned on room_id (migration
 * 20261127000000_room_events_partitioned), and every statement the repositories send about a
 * room reads that room's partition only. The statements are not copied here: a spy on the pool
 * records what each repository method really sends, and each is then explained with the same
 * parameters. Every test makes its own users and rooms and deletes only the one it creates to
 * prove that a room's log goes with it.
 */
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/durable_rooms_test';

interface Statement {
  text: string;
  values: unknown[];
}

interface PlanNode {
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

let db: Database;
let explainer: Client;
let rooms: RoomRepository;
let log: EventLogRepository;
let exportsRepo: ExportRepository;
let alice: UserRecord;
let spy: jest.SpyInstance;

const unique = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
let clock = Date.UTC(2026, 0, 1);
const nextTs = () => new Date((clock += 1000)).toISOString();

function post(seq: number, clientMsgId: string): NewEvent {
  return { seq, type: 'message.posted', actorId: alice.id, actorUsername: alice.username, clientMsgId, data: { text: `m${seq}` }, ts: nextTs() };
}

/** A room with messages 2..5 and a deletion of message 2 at seq 6, under a lease this test holds. */
async function roomWithLog(): Promise<{ roomId: string; epoch: number }> {
  const { room } = await rooms.create(unique('part-room'), alice);
  const { epoch } = (await rooms.takeLease(room.id, 'gw-partition-test'))!;
  const events = [post(2, 'c-2'), post(3, 'c-3'), post(4, 'c-4'), post(5, 'c-5')];
  events.push({ seq: 6, type: 'message.deleted', actorId: alice.id, actorUsername: alice.username, clientMsgId: null, data: { seq: 2 }, ts: nextTs() });
  expect((await log.appendBatch([{ roomId: room.id, epoch, events }])).get(room.id)).toBe('committed');
  return { roomId: room.id, epoch };
}

/** The statements touching the log that `call` sent through the pool. */
async function logStatementsOf(call: () => Promise<unknown>): Promise<Statement[]> {
  spy.mockClear();
  await call();
  // pool.query(text, values) or, for a named prepared statement (the append), pool.query({name, text, values}).
  const statements = spy.mock.calls.map(([first, values]) =>
    typeof first === 'object' && first !== null && 'text' in first
      ? { text: String((first as { text: unknown }).text), values: ((first as { values?: unknown[] }).values as unknown[]) ?? [] }
      : { text: String(first), values: (values as unknown[]) ?? [] },
  );
  return statements.filter((s) => /\broom_events\b/.test(s.text));
}

/** Every relation the plan of `statement` reads or writes, one entry per plan node. */
async function relationsOf(statement: Statement): Promise<string[]> {
  const { rows } = await explainer.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${statement.text}`, statement.values);
  const names: string[] = [];
  const walk = (node: PlanNode) => {
    if (node['Relation Name']) names.push(node['Relation Name']);
    node.Plans?.forEach(walk);
  };
  walk(rows[0]!['QUERY PLAN'][0].Plan);
  return names;
}

/** The partitions of the log that a statement's plan scans (distinct). */
async function partitionsScannedBy(statement: Statement): Promise<string[]> {
  return [...new Set((await relationsOf(statement)).filter((name) => /^room_events_/.test(name)))];
}

/** The partition that holds the room's rows, as Postgres routed them. */
async function partitionOf(roomId: string): Promise<string> {
  const { rows } = await explainer.query<{ partition: string }>('SELECT tableoid::regclass::text AS partition FROM room_events WHERE room_id = $1 LIMIT 1', [roomId]);
  return rows[0]!.partition;
}

beforeAll(async () => {
  db = new Database(DATABASE_URL, { applicationName: 'partitioning-int-spec' });
  explainer = new Client({ connectionString: DATABASE_URL });
  await explainer.connect();
  rooms = new RoomRepository(db);
  log = new EventLogRepository(db);
  exportsRepo = new ExportRepository(db);
  alice = await new UserRepository(db).create(unique('alice'), 'not-a-real-hash');
  spy = jest.spyOn(db.pool, 'query');
});

afterAll(async () => {
  spy?.mockRestore();
  await explainer?.end();
  await db?.close();
});

describe('the partitioned event log', () => {
  it('room_events is hash-partitioned on room_id into at least 8 partitions that cover every remainder', async () => {
    const table = await explainer.query<{ strategy: string; key: string }>(
      `SELECT pt.partstrat AS strategy, pg_get_partkeydef(pt.partrelid) AS key
         FROM pg_partitioned_table pt WHERE pt.partrelid = 'room_events'::regclass`,
    );
    expect(table.rows).toEqual([{ strategy: 'h', key: 'HASH (room_id)' }]);

    const parts = await explainer.query<{ name: string; bound: string }>(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'room_events'::regclass`,
    );
    expect(parts.rows.length).toBeGreaterThanOrEqual(8);
    const bounds = parts.rows.map((p) => /^FOR VALUES WITH \(modulus (\d+), remainder (\d+)\)$/.exec(p.bound));
    expect(bounds.every((b) => b !== null && Number(b[1]) === parts.rows.length)).toBe(true);
    const remainders = bounds.map((b) => Number(b![2])).sort((a, b) => a - b);
    expect(remainders).toEqual(Array.from({ length: parts.rows.length }, (_, i) => i));
    for (const p of parts.rows) expect(p.name).toMatch(/^room_events_p\d+$/);
  });

  it('keeps the keys of the unpartitioned table: primary key, unique clientMsgId; no per-row foreign key to rooms', async () => {
    const { rows } = await explainer.query<{ name: string; def: string }>(
      `SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'room_events'::regclass ORDER BY conname`,
    );
    // The foreign key went in migration 20261128000000_log_without_room_fks: the append's fenced
    // UPDATE of rooms proves the room exists, and a trigger deletes the log with the room.
    expect(rows).toEqual([
      { name: 'room_events_pkey', def: 'PRIMARY KEY (room_id, seq)' },
      { name: 'room_events_seq_positive', def: 'CHECK ((seq >= 1))' },
    ]);
    const idempotency = await explainer.query<{ def: string }>(
      `SELECT pg_get_indexdef('room_events_room_id_actor_id_client_msg_id_key'::regclass) AS def`,
    );
    expect(idempotency.rows[0]!.def).toBe(
      'CREATE UNIQUE INDEX room_events_room_id_actor_id_client_msg_id_key ON ONLY public.room_events USING btree (room_id, actor_id, client_msg_id)',
    );
  });

  it("deletes a room's events and message projection with the room, and only that room's", async () => {
    const doomed = await roomWithLog();
    const kept = await roomWithLog();
    const count = async (table: 'room_events' | 'room_messages', roomId: string) =>
      (await explainer.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE room_id = $1`, [roomId])).rows[0]!.n;
    expect(await count('room_events', doomed.roomId)).toBe(6);
    expect(await count('room_messages', doomed.roomId)).toBe(3); // 3, 4, 5: message 2 was deleted

    await explainer.query('DELETE FROM rooms WHERE id = $1', [doomed.roomId]);

    expect(await count('room_events', doomed.roomId)).toBe(0);
    expect(await count('room_messages', doomed.roomId)).toBe(0);
    expect(await count('room_events', kept.roomId)).toBe(6);
    expect(await count('room_messages', kept.roomId)).toBe(3);
  });

  it('writes nothing for a room that does not exist (the fenced UPDATE finds no row)', async () => {
    const ghost = randomUUID();
    const outcome = await log.appendBatch([{ roomId: ghost, epoch: 1, events: [post(1, 'ghost-1')] }]);
    expect(outcome.get(ghost)).toBe('fenced');
    const written = await explainer.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM room_events WHERE room_id = $1) + (SELECT count(*) FROM room_messages WHERE room_id = $1) AS n`,
      [ghost],
    );
    expect(Number(written.rows[0]!.n)).toBe(0);
  });
});

describe("every query of the log by room scans exactly that room's partition", () => {
  let roomId: string;
  let partition: string;

  beforeAll(async () => {
    ({ roomId } = await roomWithLog());
    partition = await partitionOf(roomId);
  });

  const reads: [string, () => Promise<unknown>][] = [
    ['EventLogRepository.readAfter', () => log.readAfter(roomId, 2, 100)],
    ['EventLogRepository.readBefore (a page before a seq)', () => log.readBefore(roomId, 5, 100)],
    ['EventLogRepository.readBefore (the latest page)', () => log.readBefore(roomId, undefined, 100)],
    ['EventLogRepository.findMessage (with its deletion subquery)', () => log.findMessage(roomId, 2)],
    ['EventLogRepository.findSent', () => log.findSent(roomId, alice.id, ['c-3', 'c-4', 'unknown'])],
    ['ExportRepository.readPage', () => exportsRepo.readPage(roomId, 1, 6, 100)],
  ];

  it.each(reads)('%s', async (_name, call) => {
    const statements = await logStatementsOf(call);
    expect(statements).toHaveLength(1);
    expect(await partitionsScannedBy(statements[0]!)).toEqual([partition]);
  });

  it('the group commit spanning rooms in different partitions scans none: it only routes rows into them', async () => {
    const many = await Promise.all(Array.from({ length: 6 }, () => roomWithLog()));
    const partitions = new Set<string>();
    for (const r of many) partitions.add(await partitionOf(r.roomId));
    expect(partitions.size).toBeGreaterThan(1);

    let outcome = new Map<string, string>();
    const statements = await logStatementsOf(async () => {
      outcome = await log.appendBatch(many.map((r) => ({ roomId: r.roomId, epoch: r.epoch, events: [post(7, unique('c'))] })));
    });
    expect([...outcome.values()]).toEqual(many.map(() => 'committed'));
    expect(statements).toHaveLength(1);
    const relations = await relationsOf(statements[0]!);
    expect(relations).toContain('room_events');
    expect(relations.filter((name) => /^room_events_/.test(name))).toEqual([]);
  });
});
