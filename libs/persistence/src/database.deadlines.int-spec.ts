import { createServer } from 'node:net';
import { TcpProxy, throughProxy } from '../../../test/support/tcp-proxy';
import { Database } from './database';
import { classifyDbError } from './db-errors';
import { RoomRepository } from './room.repository';
import { UserRepository } from './user.repository';

/**
 * The deadlines of both pools of a Database (DESIGN.md invariant 12), against the real Postgres
 * behind a proxy that refuses, resets or falls silent: every Prisma call (and a pool query) fails
 * within seconds, with an error classifyDbError blames on the connection even with `otherwise`
 * (which the API's error filter answers 503 `unavailable`), and works again once Postgres is
 * back. This is also where the error shapes Prisma 7 (adapter-pg) surfaces are pinned down.
 * Without deadlines on Prisma's pool the silent cases wait forever (into the test's timeout).
 */
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/durable_rooms_test';

/** A TcpProxy in front of the test database, to cut (refuse, reset) or silence (drop packets). */
function proxyToPostgres(): Promise<TcpProxy> {
  const url = new URL(DATABASE_URL);
  return TcpProxy.start({ host: url.hostname || '127.0.0.1', port: Number(url.port || 5432) });
}
/** Far above the 3 s connect / 10 s query deadlines, far below a hang; not a timing assertion. */
const NO_HANG_MS = 20_000;

jest.setTimeout(60_000);

/** The error `work` fails with; fails the test if it succeeds or does not settle within NO_HANG_MS. */
async function failure(work: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), NO_HANG_MS)));
  try {
    const outcome = await Promise.race([work.then(() => 'ok' as const, (err: unknown) => ({ err })), hang]);
    if (outcome === 'hang') throw new Error(`no answer within ${NO_HANG_MS} ms`);
    if (outcome === 'ok') throw new Error('succeeded while Postgres was down');
    return outcome.err;
  } finally {
    clearTimeout(timer);
  }
}

/** What identifies an error: its class, Prisma's code and adapter-pg's cause, pg's message. */
function shape(err: unknown): Record<string, unknown> {
  const e = err as { constructor?: { name?: string }; code?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: unknown } } }; message?: string };
  return {
    class: e?.constructor?.name,
    code: e?.code,
    kind: e?.meta?.driverAdapterError?.cause?.kind,
    message: e?.message?.trim().split('\n').at(-1),
  };
}

function expectUnavailable(err: unknown): void {
  expect({ shape: shape(err), failure: classifyDbError(err, null) }).toEqual({ shape: shape(err), failure: 'connection' });
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Lets the resets of a cut or a restore reach the pools' idle connections (loopback: at once). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

const opened: Database[] = [];
function database(url: string): { db: Database; users: UserRepository; rooms: RoomRepository } {
  const db = new Database(url, { applicationName: 'database-deadlines-int-spec' });
  opened.push(db);
  return { db, users: new UserRepository(db), rooms: new RoomRepository(db) };
}

afterAll(async () => {
  await Promise.all(opened.map((db) => db.close()));
});

const NO_ROOM = '00000000-0000-4000-8000-000000000000';
const creator = { id: NO_ROOM, username: 'nobody' };

it('refused: Prisma answers P1001 (DatabaseNotReachable) at once', async () => {
  const { users, db } = database(`postgresql://postgres@127.0.0.1:${await closedPort()}/durable_rooms_test`);
  const err = await failure(users.findByUsername('someone'));
  expect(shape(err)).toMatchObject({ class: 'PrismaClientKnownRequestError', code: 'P1001', kind: 'DatabaseNotReachable' });
  expectUnavailable(err);
  expectUnavailable(await failure(db.pool.query('SELECT 1')));
});

it('reset (TcpProxy cut): Prisma answers P1017 (ConnectionClosed), and works again after the restore', async () => {
  const proxy = await proxyToPostgres();
  try {
    const { users, rooms, db } = database(throughProxy(DATABASE_URL, proxy));
    expect(await users.findByUsername('no_such_user_here')).toBeNull();

    proxy.cut();
    await settle();
    const err = await failure(users.findByUsername('someone'));
    expect(shape(err)).toMatchObject({ class: 'PrismaClientKnownRequestError', code: 'P1017', kind: 'ConnectionClosed' });
    expectUnavailable(err);
    expectUnavailable(await failure(rooms.create('never', creator)));
    expectUnavailable(await failure(db.pool.query('SELECT 1')));

    proxy.restore();
    await settle();
    expect(await users.findByUsername('no_such_user_here')).toBeNull();
    expect(await rooms.find(NO_ROOM)).toBeNull();
  } finally {
    await proxy.close();
  }
});

it('silent before any connection: pg connect timeouts come through Prisma as they are; a transaction gets P2028', async () => {
  const proxy = await proxyToPostgres();
  try {
    const { users, rooms, db } = database(throughProxy(DATABASE_URL, proxy));
    proxy.silence();
    const [find, create, pooled] = await Promise.all([failure(users.findByUsername('someone')), failure(rooms.create('never', creator)), failure(db.pool.query('SELECT 1'))]);
    expect(shape(find)).toMatchObject({ class: 'Error', message: 'Connection terminated due to connection timeout' });
    // Prisma's own maxWait (2 s) for a transaction's connection ends before pg's connect deadline.
    expect(shape(create)).toMatchObject({ class: 'PrismaClientKnownRequestError', code: 'P2028', message: expect.stringContaining('Unable to start a transaction') });
    expect(shape(pooled)).toMatchObject({ class: 'Error', message: 'Connection terminated due to connection timeout' });
    for (const err of [find, create, pooled]) expectUnavailable(err);

    proxy.restore();
    await settle();
    expect(await users.findByUsername('no_such_user_here')).toBeNull();
  } finally {
    await proxy.close();
  }
});

it('silent with connections open: a statement ends at the query deadline, later ones at the connect deadline', async () => {
  const proxy = await proxyToPostgres();
  try {
    const { users, rooms, db } = database(throughProxy(DATABASE_URL, proxy));
    expect(await users.findByUsername('no_such_user_here')).toBeNull();
    await db.pool.query('SELECT 1');

    proxy.silence();
    // More calls than Prisma's pool has connections: none may queue behind a stuck one for good.
    const calls = [
      ...Array.from({ length: 7 }, (_, i) => users.findByUsername(`someone_${i}`)),
      rooms.find(NO_ROOM),
      rooms.create('never', creator),
      db.pool.query('SELECT 1'),
    ];
    const errors = await Promise.all(calls.map((call) => failure(call)));
    for (const err of errors) expectUnavailable(err);
    const messages = new Set(errors.map((err) => shape(err).message));
    // The statement on the open connection: pg's client-side query timeout, through Prisma unwrapped.
    expect(messages).toContain('Query read timeout');

    proxy.restore();
    await settle();
    await expect(users.findByUsername('no_such_user_here')).resolves.toBeNull();
    await expect(rooms.find(NO_ROOM)).resolves.toBeNull();
  } finally {
    await proxy.close();
  }
});
