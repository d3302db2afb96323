import { randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { Database, inTransaction } from './database';
import { RoomRepository } from './room.repository';
import { UserRepository } from './user.repository';

/** `inTransaction` against real Postgres (shared test database): what a pool gets back after a failure. */
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/durable_rooms_test';

const unique = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 16)}`;

let db: Database;
let holder: Client;
let reader: Client;

beforeAll(async () => {
  db = new Database(DATABASE_URL, { applicationName: 'transaction-int-spec' });
  holder = new Client({ connectionString: DATABASE_URL });
  reader = new Client({ connectionString: DATABASE_URL });
  await Promise.all([holder.connect(), reader.connect()]);
});

afterAll(async () => {
  await Promise.allSettled([holder.end(), reader.end(), db.close()]);
});

async function newRoom(): Promise<string> {
  const owner = await new UserRepository(db).create(unique('tx'), 'not-a-real-hash');
  const { room } = await new RoomRepository(db).create(unique('tx-room'), owner);
  return room.id;
}

async function nameOf(roomId: string): Promise<string> {
  const { rows } = await reader.query<{ name: string }>('SELECT name FROM rooms WHERE id = $1', [roomId]);
  return rows[0]!.name;
}

describe(inTransaction.name, () => {
  it('commits the work, and rolls it back when the work throws, keeping a healthy connection', async () => {
    const roomId = await newRoom();
    const pool = new Pool({ connectionString: DATABASE_URL, max: 1 });
    try {
      await inTransaction(pool, (c) => c.query("UPDATE rooms SET name = 'committed' WHERE id = $1", [roomId]));
      expect(await nameOf(roomId)).toBe('committed');

      await expect(
        inTransaction(pool, async (c) => {
          await c.query("UPDATE rooms SET name = 'rolled-back' WHERE id = $1", [roomId]);
          await c.query('SELECT 1 / 0');
        }),
      ).rejects.toThrow(/division by zero/);
      expect(await nameOf(roomId)).toBe('committed');
      // The ROLLBACK went through, so the connection went back to the pool rather than being closed.
      expect(pool.totalCount).toBe(1);
      expect(pool.idleCount).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('closes a connection whose ROLLBACK timed out, so the next borrower does not run inside the open transaction', async () => {
    const roomId = await newRoom();
    // One connection and a short client-side deadline: the statement below waits on a row lock
    // past it, and so does the ROLLBACK queued behind it on the same connection.
    const pool = new Pool({ connectionString: DATABASE_URL, max: 1, query_timeout: 300 });
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE', [roomId]);
    try {
      await expect(inTransaction(pool, (c) => c.query("UPDATE rooms SET name = 'stuck' WHERE id = $1", [roomId]))).rejects.toThrow(/timeout/i);
    } finally {
      await holder.query('COMMIT');
    }
    // An autocommit statement by the next borrower must be committed when it returns.
    await pool.query("UPDATE rooms SET name = 'after' WHERE id = $1", [roomId]);
    try {
      expect(await nameOf(roomId)).toBe('after');
    } finally {
      await pool.end();
    }
  });
});
