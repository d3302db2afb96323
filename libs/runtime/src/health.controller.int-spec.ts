import { createServer, type Server, type Socket } from 'node:net';
import type { Response } from 'express';
import { Redis } from 'ioredis';
import { Database } from '../../persistence/src';
import { HealthController } from './health.controller';

/**
 * `/health/ready` against the real Postgres and Redis, and against endpoints that accept
 * connections and never answer (a blackhole): the probe must answer 503 naming them rather than
 * hang. Without the per-check deadline the Redis ping here waits for ioredis' reconnects and
 * the test runs into its own timeout.
 */
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/durable_rooms_test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/1';

/** The status the controller set (200 when it set none) and the body it returned. */
async function probe(controller: HealthController): Promise<{ status: number; body: unknown }> {
  let status = 200;
  const res = { status: (code: number) => (status = code) } as unknown as Response;
  const body = await controller.ready(res);
  return { status, body };
}

let blackhole: Server;
const held = new Set<Socket>();
let blackholePort = 0;

beforeAll(async () => {
  blackhole = createServer((socket) => {
    held.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
  blackholePort = (blackhole.address() as { port: number }).port;
});

afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise<void>((resolve) => blackhole.close(() => resolve()));
});

describe(HealthController.name, () => {
  it('is ready when Postgres and Redis answer', async () => {
    const db = new Database(DATABASE_URL, { applicationName: 'health-int-spec' });
    const redis = new Redis(REDIS_URL);
    try {
      expect(await probe(new HealthController(db, redis))).toEqual({ status: 200, body: { status: 'ok' } });
    } finally {
      redis.disconnect();
      await db.close();
    }
  });

  it('answers 503 naming postgres and redis when both accept connections and never answer', async () => {
    const db = new Database(`postgresql://postgres@127.0.0.1:${blackholePort}/none`, { applicationName: 'health-int-spec' });
    const redis = new Redis(`redis://127.0.0.1:${blackholePort}`, { maxRetriesPerRequest: 2, lazyConnect: false });
    redis.on('error', () => undefined);
    try {
      expect(await probe(new HealthController(db, redis))).toEqual({
        status: 503,
        body: { error: { code: 'unavailable', message: 'not ready: postgres, redis unreachable' } },
      });
    } finally {
      redis.disconnect();
      await db.close();
    }
  }, 15_000);

  it('answers 503 naming the gate while it is closed, live stays ok', async () => {
    const db = new Database(DATABASE_URL, { applicationName: 'health-int-spec' });
    const redis = new Redis(REDIS_URL);
    let draining = false;
    const controller = new HealthController(db, redis, () => (draining ? 'draining' : null));
    try {
      expect((await probe(controller)).status).toBe(200);
      draining = true;
      expect(await probe(controller)).toEqual({ status: 503, body: { error: { code: 'unavailable', message: 'not ready: draining' } } });
      expect(controller.live()).toEqual({ status: 'ok' });
    } finally {
      redis.disconnect();
      await db.close();
    }
  });
});
