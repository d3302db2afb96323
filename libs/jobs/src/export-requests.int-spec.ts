import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { parseConfig } from '../../config/src';
import { DomainError } from '../../domain/src';
import { Database, ExportRepository, RoomRepository, UserRepository } from '../../persistence/src';
import { bullProducer, type BullSetup } from './connection';
import { ExportRequests } from './export-requests';
import { EXPORT_JOB, EXPORT_QUEUE, exportJobId } from './queues';

/**
 * Real Postgres and Redis (a Redis Cluster in the cluster run of `npm test`); the queue lives
 * under a hash-tagged prefix of its own, removed afterwards.
 */
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/durable_rooms_test';
const TARGET = {
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/1',
  redisClusterNodes: parseConfig({ REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES }).redisClusterNodes,
};

let db: Database;
let jobs: BullSetup;
let queue: Queue;
let rooms: RoomRepository;
let exports: ExportRepository;
let requests: ExportRequests;
const created: string[] = [];

beforeAll(async () => {
  db = new Database(DATABASE_URL, { applicationName: 'export-requests-int-spec' });
  jobs = bullProducer(TARGET);
  queue = new Queue(EXPORT_QUEUE, { connection: jobs.connection, prefix: `{spec-${randomUUID().slice(0, 8)}}` });
  rooms = new RoomRepository(db);
  exports = new ExportRepository(db);
  requests = new ExportRequests(rooms, exports, queue);
});

afterAll(async () => {
  if (created.length > 0) await db.pool.query('DELETE FROM rooms WHERE id = ANY($1::uuid[])', [created]);
  await queue?.obliterate({ force: true }).catch(() => undefined);
  await queue?.close();
  await jobs?.close();
  await db?.close();
});

describe(ExportRequests.name, () => {
  it('records a queued export as of the room’s head and enqueues its job under a deterministic id', async () => {
    const user = await new UserRepository(db).create(`exporter_${randomUUID().slice(0, 8)}`, 'not-a-real-hash');
    const { room } = await rooms.create('export me', user);
    created.push(room.id);

    const record = await requests.create(room.id);
    expect(record).toMatchObject({ roomId: room.id, status: 'queued', headSeq: 1, format: 'ndjson', key: `exports/${room.id}/${record.id}.ndjson.gz` });
    expect(await exports.get(record.id)).toEqual(record);

    const job = await queue.getJob(exportJobId(record.id));
    expect(job?.name).toBe(EXPORT_JOB);
    expect(job?.data).toEqual({ exportId: record.id, roomId: room.id });
    expect(job?.opts.attempts).toBe(5);

    // Adding the same job again (a retried request) is a no-op: still one job.
    await queue.add(EXPORT_JOB, job!.data, { jobId: exportJobId(record.id) });
    expect(await queue.getJobCounts('wait')).toEqual({ wait: 1 });

    const second = await requests.create(room.id);
    expect(second.id).not.toBe(record.id);
    expect(await queue.getJobCounts('wait')).toEqual({ wait: 2 });
  });

  it.each([randomUUID(), 'not-a-room'])('refuses unknown room %p with not_found and records nothing', async (roomId) => {
    const before = await queue.getJobCounts('wait');
    const err = await requests.create(roomId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('not_found');
    expect(await queue.getJobCounts('wait')).toEqual(before);
  });
});
