import type { Queue } from 'bullmq';
import { DomainError, parseOrThrow } from '../../domain/src';
import type { ExportRepository, RoomRepository } from '../../persistence/src';
import { Cluster, Redis } from 'ioredis';
import { reconnectDelay, REDIS_COMMAND_TIMEOUT_MS, REDIS_CONNECT_TIMEOUT_MS } from '../../routing/src';
import { bullConnection, bullProducer, bullWorker, queuePrefix } from './connection';
import { ExportRequests, exportRequestSchema } from './export-requests';
import {
  EXPORT_JOB_OPTIONS,
  exportJobId,
  snapshotJobId,
  WORKER_LOCK_DURATION_MS,
  WORKER_STALLED_INTERVAL_MS,
} from './queues';

const ROOM = '0b0c7f7e-2f1c-4d7a-9a51-5f0f3a1d2c3b';
const EXPORT = 'f0e1d2c3-b4a5-4968-8776-655443322110';

describe('job ids', () => {
  it('are deterministic: one export, one job; one snapshot per room and seq', () => {
    expect(exportJobId(EXPORT)).toBe(`export-${EXPORT}`);
    expect(exportJobId(EXPORT)).toBe(exportJobId(EXPORT));
    expect(snapshotJobId(ROOM, 1200)).toBe(`snapshot-${ROOM}-1200`);
    expect(snapshotJobId(ROOM, 1200)).not.toBe(snapshotJobId(ROOM, 1201));
  });

  it('contain no ":" (BullMQ rejects custom ids with one) and are never integers', () => {
    for (const id of [exportJobId(EXPORT), snapshotJobId(ROOM, 7)]) {
      expect(id).not.toContain(':');
      expect(String(parseInt(id, 10))).not.toBe(id);
    }
  });
});

describe('export job options', () => {
  it('retry five times with backoff', () => {
    expect(EXPORT_JOB_OPTIONS.attempts).toBe(5);
    expect(EXPORT_JOB_OPTIONS.backoff).toEqual({ type: 'exponential', delay: expect.any(Number) });
  });

  it('let another worker take over a crashed worker’s job within about 15 s', () => {
    expect(WORKER_LOCK_DURATION_MS + WORKER_STALLED_INTERVAL_MS).toBeLessThanOrEqual(15_000);
  });
});

describe(bullConnection.name, () => {
  it('reads host, port and database, with maxRetriesPerRequest null as BullMQ workers need, reconnecting like every client', () => {
    expect(bullConnection('redis://127.0.0.1:6379/1')).toEqual({
      host: '127.0.0.1',
      port: 6379,
      db: 1,
      maxRetriesPerRequest: null,
      connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
      retryStrategy: reconnectDelay,
    });
  });

  it('defaults the port and database, and decodes credentials', () => {
    expect(bullConnection('redis://user:p%40ss@cache.internal')).toMatchObject({
      host: 'cache.internal',
      port: 6379,
      db: 0,
      username: 'user',
      password: 'p@ss',
      maxRetriesPerRequest: null,
    });
  });

  it('turns TLS on for rediss://', () => {
    expect(bullConnection('rediss://cache:6380').tls).toEqual({});
  });

  it('rejects a database that is not a number', () => {
    expect(() => bullConnection('redis://127.0.0.1:6379/abc')).toThrow(/database number/);
  });
});

describe('BullMQ setups', () => {
  const single = { redisUrl: 'redis://127.0.0.1:6379/4' };
  const cluster = { redisUrl: 'redis://127.0.0.1:1', redisClusterNodes: [{ host: '127.0.0.1', port: 7999 }] };

  it('keep BullMQ’s default prefix on a single Redis and hash-tag it on a cluster, so each queue’s keys share a slot', () => {
    expect(queuePrefix(single)).toBe('bull');
    expect(queuePrefix(cluster)).toBe('{bull}');
  });

  it('give a single-Redis worker options (BullMQ opens its own connections) and a cluster worker a Cluster client that tolerates blocking', async () => {
    const one = bullWorker(single);
    expect(one).toMatchObject({ prefix: 'bull', connection: { host: '127.0.0.1', port: 6379, db: 4, maxRetriesPerRequest: null } });
    await one.close();

    const many = bullWorker(cluster);
    try {
      expect(many.prefix).toBe('{bull}');
      expect(many.connection).toBeInstanceOf(Cluster);
      const options = (many.connection as Cluster).options;
      expect(options.redisOptions).toMatchObject({ maxRetriesPerRequest: null });
      expect(options.redisOptions?.commandTimeout).toBeUndefined();
    } finally {
      await many.close();
    }
  });

  it('give producers a client of the shared factory: command timeout, one retry', async () => {
    const producer = bullProducer(single);
    try {
      expect(producer.connection).toBeInstanceOf(Redis);
      expect((producer.connection as Redis).options).toMatchObject({ commandTimeout: REDIS_COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 1, db: 4 });
    } finally {
      await producer.close();
    }
  });
});

describe('export request body', () => {
  it('accepts {format: "ndjson"} only', () => {
    expect(parseOrThrow(exportRequestSchema, { format: 'ndjson' })).toEqual({ format: 'ndjson' });
  });

  it.each([[{}], [{ format: 'csv' }], [{ format: 'ndjson', gzip: true }], [null], ['ndjson'], [undefined]])('rejects %p as invalid', (body) => {
    let error: unknown;
    try {
      parseOrThrow(exportRequestSchema, body);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('invalid');
  });
});

describe(ExportRequests.name, () => {
  it('gives up on a Redis that does not answer: unavailable, and the export is marked failed', async () => {
    const failed: string[] = [];
    const rooms = { find: async () => ({ id: ROOM, headSeq: 3 }) } as unknown as RoomRepository;
    const exports = {
      create: async (input: object) => ({ ...input, status: 'queued' }),
      markFailed: async (id: string) => void failed.push(id),
    } as unknown as ExportRepository;
    const hangingQueue = { add: () => new Promise(() => undefined) } as unknown as Queue;
    const err = await new ExportRequests(rooms, exports, hangingQueue, 50).create(ROOM).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('unavailable');
    expect(failed).toHaveLength(1);
  });
});
