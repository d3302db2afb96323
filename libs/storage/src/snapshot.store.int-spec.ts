import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { applyEvent, emptyRoomState, encodeSnapshotDocument, SNAPSHOT_FORMAT, type EventEnvelope, type RoomState } from '../../domain/src';
import { Database, RoomRepository, SnapshotRepository, UserRepository, type UserRecord } from '../../persistence/src';
import { createS3Client, ensureBucket, isNotFound, s3ClientConfig } from './s3';
import { WorkerSnapshotEncoder } from './snapshot-encoder';
import { ThreadSnapshotTransfer } from './snapshot-transfer';
import { TcpProxy } from '../../../test/support/tcp-proxy';
import { snapshotKey, SnapshotStore } from './snapshot.store';

/**
 * Real Postgres (the test database) and a real s3rver this file starts on a free port with a
 * throw-away directory. Rooms and users are created with random names; afterAll deletes them.
 */
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/durable_rooms_test';
const BUCKET = 'snapshot-test';
const REPO_ROOT = resolve(__dirname, '../../..');

let s3Process: ChildProcess | undefined;
let endpoint: string;
let db: Database;
let s3: S3Client;
let users: UserRepository;
let rooms: RoomRepository;
let repo: SnapshotRepository;
let alice: UserRecord;
const logLines: string[] = [];
let store: SnapshotStore;
const createdRooms: string[] = [];

const uniqueName = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`;

function startS3(): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolveStart, reject) => {
    const child = spawn(process.execPath, ['scripts/s3-server.mjs', '--tmp', '--port', '0', '--bucket', BUCKET], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`s3rver did not start: ${out}`)), 15_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /^s3: listening (http:\/\/\S+) /m.exec(out);
      if (match) {
        clearTimeout(timer);
        resolveStart({ child, url: match[1]! });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code}: ${out}`));
    });
  });
}

async function stopS3(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 6_000);
  await exited;
  clearTimeout(timer);
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/** A port nothing listens on: bind an ephemeral port, then close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

function clientFor(url: string): S3Client {
  return createS3Client({ endpoint: url, region: 'us-east-1', bucket: BUCKET, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true });
}

/** A room of its own whose lease the test holds, and its history: room.created then posts/deletes. */
async function leasedRoom(events = 12): Promise<{ roomId: string; epoch: number; history: EventEnvelope[] }> {
  const { room, event } = await rooms.create(uniqueName('room'), alice);
  createdRooms.push(room.id);
  const lease = await rooms.takeLease(room.id, 'gw-snapshot-test');
  const history: EventEnvelope[] = [event];
  const base = Date.parse(event.ts);
  for (let seq = 2; seq <= events; seq++) {
    const ts = new Date(base + seq * 1000).toISOString();
    const actor = { id: alice.id, username: alice.username };
    history.push(
      seq % 4 === 0
        ? { roomId: room.id, seq, type: 'message.deleted', ts, actor, data: { seq: seq - 1 } }
        : { roomId: room.id, seq, type: 'message.posted', ts, actor, data: { text: `m${seq}` }, clientMsgId: `c-${seq}` },
    );
  }
  return { roomId: room.id, epoch: lease!.epoch, history };
}

function fold(events: EventEnvelope[], roomId: string): RoomState {
  const state = emptyRoomState(roomId);
  for (const e of events) applyEvent(state, e);
  return state;
}

function expectSameState(actual: RoomState, expected: RoomState): void {
  // The windows' internal layout (ring capacity, ordinals) may differ: compare what they hold.
  expect({ ...actual, messages: undefined, sent: undefined }).toEqual({ ...expected, messages: undefined, sent: undefined });
  expect([...actual.messages]).toEqual([...expected.messages]);
  expect([...actual.sent]).toEqual([...expected.sent]);
}

async function put(key: string, body: Buffer): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentType: 'application/gzip' }));
}

async function rowCount(roomId: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM room_snapshots WHERE room_id = $1', [roomId]);
  return rows[0]!.n;
}

/** Saves snapshots of the history at each of `seqs`, asserting each is saved. */
async function saveAt(roomId: string, epoch: number, history: EventEnvelope[], seqs: number[]): Promise<void> {
  for (const seq of seqs) {
    const result = await store.save(fold(history.slice(0, seq), roomId), epoch);
    expect(result).toMatchObject({ outcome: 'saved', seq });
  }
}

beforeAll(async () => {
  const started = await startS3();
  s3Process = started.child;
  endpoint = started.url;
  s3 = clientFor(endpoint);
  await ensureBucket(s3, BUCKET); // exists already: must be a no-op
  db = new Database(DATABASE_URL, { applicationName: 'snapshot-store-int-spec' });
  users = new UserRepository(db);
  rooms = new RoomRepository(db);
  repo = new SnapshotRepository(db);
  alice = await users.create(uniqueName('alice'), 'not-a-real-hash');
  store = new SnapshotStore(s3, BUCKET, repo, (msg) => logLines.push(msg));
}, 30_000);

afterAll(async () => {
  try {
    if (db) {
      if (createdRooms.length) await db.pool.query('DELETE FROM rooms WHERE id = ANY($1::uuid[])', [createdRooms]);
      if (alice) await db.pool.query('DELETE FROM users WHERE id = $1', [alice.id]);
      await db.close();
    }
    s3?.destroy();
  } finally {
    if (s3Process) await stopS3(s3Process);
  }
}, 30_000);

beforeEach(() => {
  logLines.length = 0;
});

describe(SnapshotStore.name, () => {
  it('saves a gzip object at the documented key with its metadata row, and loads an equal state', async () => {
    const { roomId, epoch, history } = await leasedRoom(12);
    const state = fold(history, roomId);
    const result = await store.save(state, epoch);
    expect(result.outcome).toBe('saved');
    expect(result.seq).toBe(12);
    expect(result.bytes).toBeGreaterThan(0);

    const key = `rooms/${roomId}/snapshots/0000000012`;
    expect(snapshotKey(roomId, 12)).toBe(key);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(head.ContentType).toBe('application/gzip');
    expect(head.ContentEncoding).toBeUndefined();
    expect(head.ContentLength).toBe(result.bytes);

    const meta = await repo.latest(roomId);
    expect(meta).toMatchObject({ roomId, seq: 12, epoch, key, bytes: result.bytes });
    expect(meta!.createdAt).toBeInstanceOf(Date);
    expect(head.Metadata?.checksum).toBe(meta!.checksum);
    expect(meta!.checksum).toBe(encodeSnapshotDocument(state).checksum);

    const loaded = await store.loadNewest(roomId, 12);
    expect(loaded?.seq).toBe(12);
    expectSameState(loaded!.state, fold(history, roomId));
    expect(logLines).toEqual([]);
  });

  it('stores a consistent copy: the caller may keep mutating the state after save() returns its promise', async () => {
    const { roomId, epoch, history } = await leasedRoom(20);
    const state = fold(history.slice(0, 10), roomId);
    const saving = store.save(state, epoch);
    for (const e of history.slice(10)) applyEvent(state, e); // before the save's first await resumes
    expect((await saving).seq).toBe(10);
    const loaded = await store.loadNewest(roomId, 20);
    expect(loaded?.seq).toBe(10);
    expectSameState(loaded!.state, fold(history.slice(0, 10), roomId));
  });

  it('folding the log tail onto the loaded snapshot equals folding the whole log', async () => {
    const { roomId, epoch, history } = await leasedRoom(30);
    await saveAt(roomId, epoch, history, [17]);
    const loaded = await store.loadNewest(roomId, 30);
    for (const e of history.slice(loaded!.seq)) applyEvent(loaded!.state, e);
    expectSameState(loaded!.state, fold(history, roomId));
  });

  it('a save under an older epoch is stale and writes neither object nor metadata row', async () => {
    const { roomId, epoch, history } = await leasedRoom(8);
    await saveAt(roomId, epoch, history, [5]);
    const newer = await rooms.takeLease(roomId, 'gw-other');
    expect(newer!.epoch).toBeGreaterThan(epoch);

    const result = await store.save(fold(history, roomId), epoch);
    expect(result).toEqual({ outcome: 'stale', seq: 8, bytes: 0 });
    expect(await rowCount(roomId)).toBe(1);
    const headError = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: snapshotKey(roomId, 8) })).then(() => null, (err: unknown) => err);
    expect(isNotFound(headError)).toBe(true);

    // The new owner may store the same seq as the old owner did (e.g. a drain without new events).
    expect((await store.save(fold(history.slice(0, 5), roomId), newer!.epoch)).outcome).toBe('saved');
    expect((await store.save(fold(history, roomId), newer!.epoch)).outcome).toBe('saved');
    expect((await repo.newest(roomId, 100, 10)).map((m) => [m.seq, m.epoch])).toEqual([
      [8, newer!.epoch],
      [5, epoch],
    ]);
  });

  it('the row is fenced by the database when the lease moves between the epoch check and the record', async () => {
    const { roomId, epoch } = await leasedRoom(3);
    const meta = { roomId, seq: 3, epoch, key: snapshotKey(roomId, 3), bytes: 10, checksum: 'x' };
    await rooms.takeLease(roomId, 'gw-other');
    expect(await repo.recordIfCurrent(meta)).toBe(false);
    expect(await rowCount(roomId)).toBe(0);
    expect(await repo.recordIfCurrent({ ...meta, epoch: epoch + 1 })).toBe(true);
    expect(await repo.recordIfCurrent({ ...meta, epoch: epoch + 1 })).toBe(true); // retry: already there
    expect(await repo.currentEpoch(roomId)).toBe(epoch + 1);
    expect(await repo.currentEpoch(randomUUID())).toBeNull();
    expect(await repo.recordIfCurrent({ ...meta, roomId: randomUUID() })).toBe(false);
  });

  it('concurrent saves of the same seq under the current lease are all saved', async () => {
    const { roomId, epoch, history } = await leasedRoom(6);
    const state = fold(history, roomId);
    const results = await Promise.all([store.save(state, epoch), store.save(state, epoch), store.save(state, epoch)]);
    expect(results.map((r) => r.outcome)).toEqual(['saved', 'saved', 'saved']);
    expect(await rowCount(roomId)).toBe(1);
  });

  it('falls back to the older snapshot when the newest object holds garbage', async () => {
    const { roomId, epoch, history } = await leasedRoom(12);
    await saveAt(roomId, epoch, history, [4, 9]);
    await put(snapshotKey(roomId, 9), Buffer.from('definitely not gzip'));
    const loaded = await store.loadNewest(roomId, 12);
    expect(loaded?.seq).toBe(4);
    expectSameState(loaded!.state, fold(history.slice(0, 4), roomId));
    expect(logLines).toHaveLength(1);
    expect(logLines[0]).toContain(`${roomId}@9`);
    expect(logLines[0]).toMatch(/not gzip/);
  });

  it('falls back when the newest object is missing', async () => {
    const { roomId, epoch, history } = await leasedRoom(12);
    await saveAt(roomId, epoch, history, [4, 9]);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: snapshotKey(roomId, 9) }));
    const loaded = await store.loadNewest(roomId, 12);
    expect(loaded?.seq).toBe(4);
    expect(logLines).toEqual([expect.stringMatching(new RegExp(`${roomId}@9.*object missing`))]);
  });

  it('returns null when every snapshot is missing or corrupt', async () => {
    const { roomId, epoch, history } = await leasedRoom(12);
    await saveAt(roomId, epoch, history, [3, 5, 7, 9]);
    await put(snapshotKey(roomId, 9), gzipSync('{"format":1,'));
    // A valid document, but of another seq (an object at the wrong key).
    await put(snapshotKey(roomId, 7), gzipSync(encodeSnapshotDocument(fold(history.slice(0, 6), roomId)).json));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: snapshotKey(roomId, 5) }));
    await put(snapshotKey(roomId, 3), Buffer.alloc(0));
    expect(await store.loadNewest(roomId, 12)).toBeNull();
    expect(logLines.map((l) => /@(\d+)/.exec(l)![1])).toEqual(['9', '7', '5', '3']);
    expect(logLines[0]).toMatch(/corrupt \(json\)/);
    expect(logLines[1]).toMatch(/corrupt \(mismatch\)/);
  });

  it('returns null for a room without snapshots', async () => {
    const { roomId } = await leasedRoom(2);
    expect(await store.loadNewest(roomId, 2)).toBeNull();
    expect(await store.loadNewest(randomUUID(), 2)).toBeNull();
    expect(logLines).toEqual([]);
  });

  it('never uses a snapshot newer than maxSeq', async () => {
    const { roomId, epoch, history } = await leasedRoom(12);
    await saveAt(roomId, epoch, history, [4, 9]);
    expect((await store.loadNewest(roomId, 8))?.seq).toBe(4);
    expect((await store.loadNewest(roomId, 9))?.seq).toBe(9);
    expect(await store.loadNewest(roomId, 3)).toBeNull();
  });

  it('with S3 unreachable, loadNewest returns null without throwing and save rejects', async () => {
    const { roomId, epoch, history } = await leasedRoom(12);
    await saveAt(roomId, epoch, history, [4, 9]);
    const down = clientFor(`http://127.0.0.1:${await closedPort()}`);
    const downStore = new SnapshotStore(down, BUCKET, repo, (msg) => logLines.push(msg));
    try {
      const started = Date.now();
      await expect(downStore.loadNewest(roomId, 12)).resolves.toBeNull();
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(logLines).toEqual([expect.stringMatching(new RegExp(`${roomId}@9.*S3 unreachable`))]);
      await expect(downStore.save(fold(history, roomId), epoch)).rejects.toThrow(/ECONNREFUSED/);
      expect(await rowCount(roomId)).toBe(2);
    } finally {
      down.destroy();
    }
  });

  it('loadNewest rejects when Postgres is down (the caller must not silently replay nothing)', async () => {
    const deadDb = new Database(`postgresql://postgres@127.0.0.1:${await closedPort()}/durable_rooms_test`);
    try {
      const deadStore = new SnapshotStore(s3, BUCKET, new SnapshotRepository(deadDb), (msg) => logLines.push(msg));
      await expect(deadStore.loadNewest(randomUUID(), 10)).rejects.toThrow();
    } finally {
      await deadDb.close();
    }
  });

  it('an unusable object is never read through S3 alone: a stray object without a row is ignored', async () => {
    const { roomId, epoch, history } = await leasedRoom(12);
    await saveAt(roomId, epoch, history, [4]);
    await put(snapshotKey(roomId, 10), gzipSync(encodeSnapshotDocument(fold(history.slice(0, 10), roomId)).json));
    expect((await store.loadNewest(roomId, 12))?.seq).toBe(4);
  });
});

describe(`${SnapshotStore.name} with the ${WorkerSnapshotEncoder.name}`, () => {
  let encoder: WorkerSnapshotEncoder;
  let workerStore: SnapshotStore;
  beforeAll(() => {
    encoder = new WorkerSnapshotEncoder(1);
    workerStore = new SnapshotStore(s3, BUCKET, repo, (msg) => logLines.push(msg), encoder);
  });
  afterAll(() => encoder.close());

  it('saves what the inline encoder would have saved, and loads it back', async () => {
    const { roomId, epoch, history } = await leasedRoom(30);
    const state = fold(history, roomId);
    const result = await workerStore.save(state, epoch);
    expect(result).toMatchObject({ outcome: 'saved', seq: 30 });
    expect(encoder.started).toBe(true);
    const meta = await repo.latest(roomId);
    expect(meta).toMatchObject({ seq: 30, bytes: result.bytes, checksum: encodeSnapshotDocument(state).checksum });
    // Both stores read it: the bytes are the documented format.
    expectSameState((await store.loadNewest(roomId, 30))!.state, state);
    expectSameState((await workerStore.loadNewest(roomId, 30))!.state, state);
    expect(logLines).toEqual([]);
  });

  it('stores a consistent copy while the caller keeps folding events', async () => {
    const { roomId, epoch, history } = await leasedRoom(40);
    const state = fold(history.slice(0, 25), roomId);
    const saving = workerStore.save(state, epoch);
    for (const e of history.slice(25)) applyEvent(state, e);
    expect((await saving).seq).toBe(25);
    expectSameState((await workerStore.loadNewest(roomId, 40))!.state, fold(history.slice(0, 25), roomId));
  });

  it('a stale epoch writes nothing', async () => {
    const { roomId, epoch, history } = await leasedRoom(5);
    await rooms.takeLease(roomId, 'gw-other');
    expect(await workerStore.save(fold(history, roomId), epoch)).toEqual({ outcome: 'stale', seq: 5, bytes: 0 });
    expect(await rowCount(roomId)).toBe(0);
  });
});

describe(`${SnapshotStore.name} with the ${ThreadSnapshotTransfer.name}`, () => {
  const settingsFor = (url: string) =>
    s3ClientConfig({ endpoint: url, region: 'us-east-1', bucket: BUCKET, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true });
  /** The calling thread's client: it must not be used for a transfer, so every call fails the test. */
  const unusedClient = { send: () => Promise.reject(new Error('a transfer ran on the calling thread')) } as unknown as S3Client;
  let encoder: WorkerSnapshotEncoder;
  let transfer: ThreadSnapshotTransfer;
  let threadStore: SnapshotStore;
  beforeAll(() => {
    encoder = new WorkerSnapshotEncoder(1);
    transfer = new ThreadSnapshotTransfer(settingsFor(endpoint));
    threadStore = new SnapshotStore(unusedClient, BUCKET, repo, (msg) => logLines.push(msg), encoder, transfer);
  });
  afterAll(() => Promise.all([encoder.close(), transfer.close()]));

  it('puts the object the calling thread would have put, with the same metadata, and records its row', async () => {
    const { roomId, epoch, history } = await leasedRoom(30);
    const state = fold(history, roomId);
    const result = await threadStore.save(state, epoch);
    expect(result).toMatchObject({ outcome: 'saved', seq: 30 });
    expect(result.bytes).toBeGreaterThan(0);
    expect(transfer.started).toBe(true);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: snapshotKey(roomId, 30) }));
    const checksum = encodeSnapshotDocument(state).checksum;
    expect(head).toMatchObject({ ContentType: 'application/gzip', ContentLength: result.bytes });
    expect(head.Metadata).toEqual({ checksum, format: String(SNAPSHOT_FORMAT), seq: '30', epoch: String(epoch) });
    expect(await repo.latest(roomId)).toMatchObject({ seq: 30, epoch, bytes: result.bytes, checksum });
    expectSameState((await store.loadNewest(roomId, 30))!.state, state);
    expect(logLines).toEqual([]);
  });

  it('reads snapshots back on the thread: the state it saved, and the next older one when the newest is missing', async () => {
    const { roomId, epoch, history } = await leasedRoom(12);
    for (const seq of [4, 9]) expect(await threadStore.save(fold(history.slice(0, seq), roomId), epoch)).toMatchObject({ outcome: 'saved', seq });
    expectSameState((await threadStore.loadNewest(roomId, 12))!.state, fold(history.slice(0, 9), roomId));
    expect(logLines).toEqual([]);
    // S3's NoSuchKey crosses back from the thread as what it is: a missing object, not an outage.
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: snapshotKey(roomId, 9) }));
    const older = await threadStore.loadNewest(roomId, 12);
    expect(older?.seq).toBe(4);
    expectSameState(older!.state, fold(history.slice(0, 4), roomId));
    expect(logLines).toEqual([expect.stringMatching(new RegExp(`${roomId}@9.*object missing`))]);
  });

  it('with S3 unreachable, a load through the thread gives up on snapshots at once (the log is replayed)', async () => {
    const { roomId, epoch, history } = await leasedRoom(12);
    await saveAt(roomId, epoch, history, [4, 9]);
    const down = new ThreadSnapshotTransfer(settingsFor(`http://127.0.0.1:${await closedPort()}`));
    try {
      const downStore = new SnapshotStore(unusedClient, BUCKET, repo, (msg) => logLines.push(msg), encoder, down);
      const started = Date.now();
      await expect(downStore.loadNewest(roomId, 12)).resolves.toBeNull();
      expect(Date.now() - started).toBeLessThan(10_000);
      // One line, for the newest: the older candidate is not tried against the same outage.
      expect(logLines).toEqual([expect.stringMatching(new RegExp(`${roomId}@9.*S3 unreachable.*ECONNREFUSED`))]);
    } finally {
      await down.close();
    }
  });

  it('moves a body that owns its memory to the thread, and copies one that shares it', async () => {
    const get = async (key: string) => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
    const object = (key: string, body: Buffer) => ({ bucket: BUCKET, key, body, contentType: 'application/octet-stream', metadata: {} });
    const key = `upload-test/${randomUUID()}`;

    const own = Buffer.from(new ArrayBuffer(32)).fill(7);
    await transfer.put(object(`${key}/own`, own));
    expect(own.buffer.byteLength).toBe(0); // moved, not cloned
    expect(await get(`${key}/own`)).toEqual(Buffer.alloc(32, 7));

    const shared = Buffer.alloc(64, 1);
    const part = shared.subarray(8, 40).fill(9);
    await transfer.put(object(`${key}/part`, part));
    expect(shared.length).toBe(64); // its neighbours keep their memory
    expect(part.length).toBe(32);
    expect(await get(`${key}/part`)).toEqual(Buffer.alloc(32, 9));
  });

  it('a stale epoch uploads nothing', async () => {
    const { roomId, epoch, history } = await leasedRoom(5);
    await rooms.takeLease(roomId, 'gw-other');
    expect(await threadStore.save(fold(history, roomId), epoch)).toEqual({ outcome: 'stale', seq: 5, bytes: 0 });
    const missing = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: snapshotKey(roomId, 5) })).catch((err: unknown) => err);
    expect(isNotFound(missing)).toBe(true);
    expect(await rowCount(roomId)).toBe(0);
  });

  it('with S3 unreachable the save rejects within the client deadline, naming the network error, and records nothing', async () => {
    const { roomId, epoch, history } = await leasedRoom(8);
    const downUploader = new ThreadSnapshotTransfer(settingsFor(`http://127.0.0.1:${await closedPort()}`));
    try {
      const downStore = new SnapshotStore(unusedClient, BUCKET, repo, (msg) => logLines.push(msg), encoder, downUploader);
      const started = Date.now();
      await expect(downStore.save(fold(history, roomId), epoch)).rejects.toThrow(/snapshot upload failed: .*ECONNREFUSED/);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await rowCount(roomId)).toBe(0);
    } finally {
      await downUploader.close();
    }
  });

  it('uploads of several rooms wait on S3 together, not one behind the other', async () => {
    // An endpoint that accepts connections and never answers: each upload holds its connection
    // until the client's deadline, so the connections open at once are the uploads in flight.
    const held: Socket[] = [];
    const blackHole = createServer((socket) => held.push(socket.on('error', () => undefined)));
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
    const port = (blackHole.address() as { port: number }).port;
    const stuckUploader = new ThreadSnapshotTransfer(settingsFor(`http://127.0.0.1:${port}`));
    try {
      const stuckStore = new SnapshotStore(unusedClient, BUCKET, repo, (msg) => logLines.push(msg), encoder, stuckUploader);
      const leased = await Promise.all([1, 2, 3].map(() => leasedRoom(4)));
      const saves = leased.map(({ roomId, epoch, history }) => stuckStore.save(fold(history, roomId), epoch));
      saves.forEach((save) => save.catch(() => undefined));
      // With one upload at a time the second would start only after the first one's 5 s deadline.
      await waitUntil(() => held.length >= 3, 3_000);
      expect(held.length).toBe(3);
    } finally {
      await stuckUploader.close();
      held.forEach((socket) => socket.destroy());
      await new Promise((r) => blackHole.close(r));
    }
  });

  it('warms its thread and client before the first upload needs them, and with the application without waiting', async () => {
    // Through proxies, to see the warm-up's request reach S3 (cold, the first upload took ~300 ms:
    // the thread, the SDK and its first request).
    const s3Port = Number(new URL(endpoint).port);
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: s3Port });
    const early = new ThreadSnapshotTransfer(settingsFor(`http://127.0.0.1:${proxy.port}`), BUCKET);
    const bootProxy = await TcpProxy.start({ host: '127.0.0.1', port: s3Port });
    const booted = new ThreadSnapshotTransfer(settingsFor(`http://127.0.0.1:${bootProxy.port}`), BUCKET);
    try {
      expect(early.started).toBe(false);
      await early.warmUp();
      expect(early.started).toBe(true);
      expect(proxy.stats.passed).toBe(1);
      await early.put({ bucket: BUCKET, key: `upload-test/${randomUUID()}`, body: Buffer.from('x'), contentType: 'text/plain', metadata: {} });
      expect(proxy.stats.passed).toBe(1); // the upload reused the warm connection

      expect(booted.onApplicationBootstrap()).toBeUndefined(); // Nest does not wait for S3
      expect(booted.started).toBe(true);
      await waitUntil(() => bootProxy.stats.passed === 1, 5_000);
      expect(bootProxy.stats.passed).toBe(1);
    } finally {
      await Promise.all([early.close(), booted.close()]);
      await Promise.all([proxy.close(), bootProxy.close()]);
    }
    early.onApplicationBootstrap(); // after close: stays closed
    await early.warmUp();
    expect(early.started).toBe(false);
  });

  it('warming up against an unreachable S3 resolves, and the uploads still fail on their own', async () => {
    const down = new ThreadSnapshotTransfer(settingsFor(`http://127.0.0.1:${await closedPort()}`), BUCKET);
    try {
      await expect(down.warmUp()).resolves.toBeUndefined();
      await expect(down.put({ bucket: BUCKET, key: 'never', body: Buffer.from('x'), contentType: 'text/plain', metadata: {} })).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await down.close();
    }
  });

  it('after close() a transfer rejects instead of starting the thread again', async () => {
    const closing = new ThreadSnapshotTransfer(settingsFor(endpoint));
    await closing.close();
    await expect(closing.put({ bucket: BUCKET, key: 'never', body: Buffer.from('x'), contentType: 'text/plain', metadata: {} })).rejects.toThrow(/transfer closed/);
    await expect(closing.get(BUCKET, 'never')).rejects.toThrow(/transfer closed/);
    expect(closing.started).toBe(false);
  });
});

describe(SnapshotRepository.name, () => {
  it('deleteOlderThan keeps the newest snapshots and returns the keys of the rest', async () => {
    const { roomId, epoch, history } = await leasedRoom(12);
    await saveAt(roomId, epoch, history, [2, 4, 6, 8, 10]);
    expect(await repo.deleteOlderThan(roomId, 2)).toEqual(expect.arrayContaining([2, 4, 6].map((s) => snapshotKey(roomId, s))));
    expect((await repo.newest(roomId, 100, 10)).map((m) => m.seq)).toEqual([10, 8]);
    expect(await repo.deleteOlderThan(roomId, 2)).toEqual([]);
    expect(await repo.newest(roomId, 9, 1)).toEqual([expect.objectContaining({ seq: 8 })]);
    expect(await repo.deleteOlderThan(roomId, 0)).toHaveLength(2);
    expect(await repo.latest(roomId)).toBeNull();
    await expect(repo.deleteOlderThan(roomId, -1)).rejects.toThrow(RangeError);
  });

  it('room deletion cascades to its snapshot rows', async () => {
    const { roomId, epoch, history } = await leasedRoom(4);
    await saveAt(roomId, epoch, history, [4]);
    await db.pool.query('DELETE FROM rooms WHERE id = $1', [roomId]);
    expect(await rowCount(roomId)).toBe(0);
  });
});

describe(ensureBucket.name, () => {
  it('creates a missing bucket and is idempotent', async () => {
    const bucket = `ensure-${randomUUID().slice(0, 8)}`;
    await ensureBucket(s3, bucket);
    await ensureBucket(s3, bucket);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: Buffer.from('v') }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }));
    expect(await got.Body!.transformToString()).toBe('v');
  });
});
