/**
 * Issue 8, acceptance 6: Redis unreachable. On a single Redis, every process of the stack reaches
 * it through a TCP proxy that the test cuts (connections reset, new ones refused), as if Redis
 * had gone away for them while it keeps running. In the cluster run of `npm test` the test
 * freezes every node of the throw-away cluster instead (SIGSTOP: connections stay open and
 * nothing answers, the case only deadlines can end). Either way every API route that needs Redis
 * answers 503 `unavailable` naming redis, instead of hanging; routes that do not need it keep
 * working; a client already joined keeps sending and receiving on its gateway; and when Redis
 * is back, everything recovers by itself, with no restart. (test/outages.e2e-spec.ts covers
 * Postgres and S3.) Times are printed as figures, never asserted.
 */
import { randomUUID } from 'node:crypto';
import { ApiClient, type TestUser } from './support/client';
import { compareLogWithAcks, logOf, makeAdmin, waitForGatewayStatus } from './support/fault';
import { reportFigure } from './support/figures';
import { waitFor } from './support/processes';
import { ResilientClient } from './support/resilient-client';
import { TestStack } from './support/stack';
import { Pool } from 'pg';

jest.setTimeout(120_000);

const SUITE = 'redis-outage';
const onCluster = Boolean(process.env.REDIS_CLUSTER_NODES);
/** The cluster run's own nodes (scripts/redis-cluster.sh started them for this run). */
const clusterPids = (process.env.REDIS_CLUSTER_PIDS ?? '').split(/\s+/).filter(Boolean).map(Number);

/** How the test takes Redis away from the stack and gives it back. */
interface Outage {
  name: string;
  cut(): void;
  restore(): void;
}

function outageOf(stack: TestStack): Outage {
  if (!onCluster) return { name: 'Redis cut (proxy)', cut: () => stack.redisProxy!.cut(), restore: () => stack.redisProxy!.restore() };
  const signal = (sig: NodeJS.Signals) => {
    for (const pid of clusterPids) process.kill(pid, sig);
  };
  return { name: 'Redis Cluster frozen (SIGSTOP of every node)', cut: () => signal('SIGSTOP'), restore: () => signal('SIGCONT') };
}

/** A request that cannot hang the test: it is abandoned after 10 s (which fails the test). */
async function timed(api: ApiClient, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: any; ms: number }> {
  const started = Date.now();
  const res = await fetch(`${api.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, ms: Date.now() - started };
}

(onCluster && clusterPids.length === 0 ? describe.skip : describe)(`Redis outage (fault e2e${onCluster ? ', Redis Cluster' : ''})`, () => {
  let stack: TestStack;
  let outage: Outage;
  let api: ApiClient;
  let pool: Pool;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  let roomId = '';
  let a: ResilientClient;
  let b: ResilientClient;
  /** A room created while Redis was cut (placed only later, on its first connection). */
  let createdDuringOutage = '';

  beforeAll(async () => {
    stack = await TestStack.start({
      name: 'rout',
      gateways: 2,
      redisProxy: !onCluster,
      env: { RATE_LIMIT_MSG_PER_SEC: '0', AUTH_RATE_LIMIT_PER_MIN: '0' },
    });
    outage = outageOf(stack);
    api = new ApiClient(stack.apiUrl);
    pool = new Pool({ connectionString: stack.env().DATABASE_URL, max: 2 });
    admin = await makeAdmin(stack, api);
    [alice, bob] = await Promise.all([api.register('rout_a'), api.register('rout_b')]);
    roomId = (await api.createRoom(alice!.token, 'held through the outage')).id;
    a = new ResilientClient(api, alice!, roomId, { name: 'rout-alice' });
    b = new ResilientClient(api, bob!, roomId, { name: 'rout-bob' });
    await a.connect();
    await b.connect();
    await a.sendMany('before', 5, 2);
  });

  afterAll(async () => {
    if (outage) outage.restore();
    a?.close();
    b?.close();
    await pool?.end();
    await stack?.stop();
  });

  it('Redis cut: every route that needs it answers 503 unavailable naming redis, other routes answer, joined sockets keep serving', async () => {
    const gateway = a.gatewayId!;
    expect(b.gatewayId).toBe(gateway);
    outage.cut();
    const cutAt = Date.now();

    const needsRedis: Array<[string, string, unknown?]> = [
      ['POST', `/rooms/${roomId}/connection`],
      ['GET', '/admin/gateways'],
      ['POST', `/admin/gateways/${gateway}/drain`],
      ['GET', `/admin/rooms/${roomId}`],
      ['POST', `/admin/rooms/${roomId}/exports`, { format: 'ndjson' }],
    ];
    const answers: Record<string, number[]> = {};
    // Right after the cut, and again once every client has noticed it (the gateways' registrations expire meanwhile).
    for (const round of [0, 1]) {
      if (round === 1) await new Promise((resolve) => setTimeout(resolve, 4_000));
      for (const [method, path, body] of needsRedis) {
        const token = path.startsWith('/admin') ? admin.token : alice!.token;
        const res = await timed(api, method, path, token, body);
        expect([method, path, res.status, res.body?.error?.code]).toEqual([method, path, 503, 'unavailable']);
        expect(res.body.error.message).toMatch(/redis/i);
        (answers[`${method} ${path.replace(roomId, ':roomId').replace(gateway, ':id')}`] ??= []).push(res.ms);
      }
      const ready = await timed(api, 'GET', '/health/ready', alice!.token);
      expect(ready.status).toBe(503);
      expect(JSON.stringify(ready.body)).toMatch(/redis/i);
    }

    // A new room is a Postgres row: it is created, and placed on its first connection later.
    const created = await timed(api, 'POST', '/rooms', alice!.token, { name: 'created during the outage' });
    expect(created.status).toBe(201);
    createdDuringOutage = created.body.room.id;
    // Routes that do not need Redis keep answering.
    expect((await timed(api, 'GET', `/rooms/${roomId}`, alice!.token)).status).toBe(200);
    expect((await timed(api, 'GET', `/rooms/${roomId}/events?after=0`, alice!.token)).status).toBe(200);

    // The joined clients keep sending and receiving on their gateway, without reconnecting.
    const during = await a.sendMany('during', 20, 4);
    expect(during.every((ack) => ack.gatewayId === gateway)).toBe(true);
    await b.caughtUp(during.at(-1)!.seq);
    expect([a.reconnects, b.reconnects]).toEqual([0, 0]);
    if (stack.redisProxy) expect(stack.redisProxy.stats.refused).toBeGreaterThan(0);

    for (const [route, times] of Object.entries(answers)) {
      reportFigure(SUITE, `${outage.name}: ${route} answered 503 in (max of ${times.length})`, Math.max(...times), 'ms', { times });
    }
    reportFigure(SUITE, `${outage.name}: POST /rooms (201, placed later)`, created.ms, 'ms');
    reportFigure(SUITE, `${outage.name} for`, Date.now() - cutAt, 'ms');
  });

  it('Redis back: heartbeats resume, rooms are placed and connections answered again, with no restart', async () => {
    const gateway = a.gatewayId!;
    const pids = [stack.api.pid, ...stack.gateways.map((g) => g.proc.pid)];
    const restoredAt = Date.now();
    outage.restore();

    // Heartbeats resume: both gateways are listed active again.
    for (const gw of stack.gateways) await waitForGatewayStatus(api, admin, gw.id, 'active', 30_000);
    const recoveredMs = Date.now() - restoredAt;

    // The held room is still where it was; the room created during the outage gets placed.
    expect((await api.connection(alice!.token, roomId)).gatewayId).toBe(gateway);
    const late = new ResilientClient(api, alice!, createdDuringOutage, { name: 'rout-late' });
    try {
      await late.connect();
      const ack = await late.send(`late-${randomUUID().slice(0, 8)}`, 'first message of a room created during the outage');
      expect(ack.seq).toBe(2);
      expect(stack.gateways.map((g) => g.id)).toContain(late.gatewayId);
    } finally {
      late.close();
    }
    // New rooms are placed again, and the admin routes answer.
    const fresh = await api.createRoom(bob!.token, 'after the outage');
    expect((await api.connection(bob!.token, fresh.id)).gatewayId).toMatch(/^rout-gw-/);
    expect((await timed(api, 'GET', `/admin/rooms/${roomId}`, admin.token)).body.owner.gatewayId).toBe(gateway);
    expect((await timed(api, 'POST', `/admin/rooms/${roomId}/exports`, admin.token, { format: 'ndjson' })).status).toBe(202);
    expect((await timed(api, 'GET', '/health/ready', admin.token)).status).toBe(200);

    // The joined clients never left their gateway, and the log holds every acknowledged message once.
    await a.sendMany('after', 5, 2);
    expect([a.reconnects, b.reconnects, a.gatewayId]).toEqual([0, 0, gateway]);
    const log = await logOf(pool, roomId);
    expect(compareLogWithAcks(log, [{ userId: alice!.user.id, acks: a.acks }])).toEqual([]); // counts the joins itself
    // Nothing was restarted.
    expect([stack.api.pid, ...stack.gateways.map((g) => g.proc.pid)]).toEqual(pids);
    expect([stack.api.running, ...stack.gateways.map((g) => g.proc.running)].every(Boolean)).toBe(true);
    reportFigure(SUITE, `${outage.name}, then back: every gateway listed active again`, recoveredMs, 'ms');
  });
});
