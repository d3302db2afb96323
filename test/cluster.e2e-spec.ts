/**
 * Issue 8, acceptance 1: the whole stack on a real 3-master Redis Cluster (REDIS_CLUSTER_NODES),
 * with nothing listening at REDIS_URL. `npm test` starts the cluster (scripts/redis-cluster.sh)
 * and runs this file in its cluster run; without REDIS_CLUSTER_NODES it is skipped.
 *
 * 4 gateways and the worker start; 200 new rooms spread 30–70 per gateway; a kill -9 of an owner
 * under traffic loses and doubles nothing; a drain moves every room; an export finishes and
 * downloads. Real processes from dist/, Postgres and an S3 server; clients follow the README's
 * reconnect recipe. Timings are printed as figures, never asserted.
 */
import { gunzipSync } from 'node:zlib';
import { Pool } from 'pg';
import { parseConfig } from '../libs/config/src';
import { createRedisClient, keys, type RedisClient } from '../libs/routing/src';
import { ApiClient, type TestUser } from './support/client';
import { compareClientWithLog, compareLogWithAcks, logOf, makeAdmin, sleep, waitForGatewayStatus } from './support/fault';
import { reportFigure } from './support/figures';
import { type ManagedProcess, waitFor } from './support/processes';
import { ResilientClient } from './support/resilient-client';
import { TestStack } from './support/stack';
import { startWorker } from './support/worker';

jest.setTimeout(180_000);

const SUITE = 'cluster';
const GATEWAYS = 4;
const ROOMS = 200;
const clusterNodes = parseConfig({ REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES }).redisClusterNodes;

if (!clusterNodes) {
  console.log('cluster.e2e-spec: skipped (REDIS_CLUSTER_NODES is not set; `npm test` sets it in its cluster run)');
}

(clusterNodes ? describe : describe.skip)('the stack on a Redis Cluster (e2e)', () => {
  let stack: TestStack;
  let api: ApiClient;
  let pool: Pool;
  let admin: TestUser;
  let worker: ManagedProcess;
  /** The test's own view of the cluster, to check where the processes keep their state. */
  let cluster: RedisClient;
  const rooms: string[] = [];
  const clients: ResilientClient[] = [];
  /** The room that went through the kill -9, exported at the end. */
  let killedRoom = '';
  let killedOwner = '';

  beforeAll(async () => {
    stack = await TestStack.start({
      name: SUITE,
      gateways: GATEWAYS,
      env: { RATE_LIMIT_MSG_PER_SEC: '0', AUTH_RATE_LIMIT_PER_MIN: '0', SNAPSHOT_EVERY_EVENTS: '100', SNAPSHOT_INTERVAL_MS: '1000' },
    });
    api = new ApiClient(stack.apiUrl);
    pool = new Pool({ connectionString: stack.env().DATABASE_URL, max: 2 });
    admin = await makeAdmin(stack, api);
    worker = await startWorker(`${SUITE}-worker`, stack.env({ COLD_SNAPSHOT_SWEEP_MS: '0' }));
    cluster = createRedisClient({ redisUrl: stack.env().REDIS_URL!, redisClusterNodes: clusterNodes });
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) c.close();
    await worker?.stop();
    cluster?.disconnect();
    await pool?.end();
    await stack?.stop();
  });

  function client(user: TestUser, roomId: string, name: string): ResilientClient {
    const c = new ResilientClient(api, user, roomId, { name });
    clients.push(c);
    return c;
  }

  async function ownersOfRooms(ids: string[]): Promise<Map<string, string[]>> {
    const byGateway = new Map<string, string[]>();
    for (let i = 0; i < ids.length; i += 20) {
      const views = await Promise.all(
        ids.slice(i, i + 20).map(async (id) => {
          const res = await api.request('GET', `/admin/rooms/${id}`, { token: admin.token });
          expect(res.status).toBe(200);
          return { id, owner: res.body.owner?.gatewayId as string | undefined };
        }),
      );
      for (const { id, owner } of views) byGateway.set(owner ?? 'none', [...(byGateway.get(owner ?? 'none') ?? []), id]);
    }
    return byGateway;
  }

  it('4 gateways and the worker start, registered in the cluster, with nothing at REDIS_URL', async () => {
    const env = stack.env();
    expect(env.REDIS_CLUSTER_NODES).toBe(process.env.REDIS_CLUSTER_NODES);
    // REDIS_URL leads nowhere in this run: every process must be using the cluster.
    const closed = await fetch(`http://${new URL(env.REDIS_URL!).host}/`).then(
      () => 'open',
      () => 'closed',
    );
    expect(closed).toBe('closed');

    const res = await api.request('GET', '/admin/gateways', { token: admin.token });
    expect(res.status).toBe(200);
    const listed = res.body.gateways.filter((g: { id: string }) => g.id.startsWith(`${SUITE}-gw-`));
    expect(listed.map((g: { id: string; status: string }) => [g.id, g.status]).sort()).toEqual(
      stack.gateways.map((g) => [g.id, 'active']).sort(),
    );
    for (const gw of stack.gateways) expect(await cluster.hget(keys.gateway(gw.id), 'status')).toBe('active');
    expect(worker.running).toBe(true);
    expect(worker.logs()).toContain('worker ready');
  });

  it('200 new rooms spread 30–70 per gateway', async () => {
    const owner = await api.register('spread');
    const started = Date.now();
    // A few creations in flight at once, as several users would.
    for (let i = 0; i < ROOMS; i += 4) {
      const batch = await Promise.all(Array.from({ length: Math.min(4, ROOMS - i) }, (_, j) => api.createRoom(owner.token, `cluster room ${i + j}`)));
      rooms.push(...batch.map((room) => room.id));
    }
    const createMs = Date.now() - started;
    const byGateway = await ownersOfRooms(rooms);
    const counts = Object.fromEntries(stack.gateways.map((g) => [g.id, byGateway.get(g.id)?.length ?? 0]));
    reportFigure(SUITE, `${ROOMS} rooms created (4 at a time) on a Redis Cluster`, createMs, 'ms', { perGateway: counts });

    expect(byGateway.get('none')).toBeUndefined();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(ROOMS);
    for (const [id, count] of Object.entries(counts)) {
      expect([id, count >= 30 && count <= 70]).toEqual([id, true]);
    }
    // The scheduler's count of each gateway (its room set in the cluster) agrees with the owners.
    for (const gw of stack.gateways) expect(await cluster.zcard(keys.gatewayRooms(gw.id))).toBe(counts[gw.id]);
  });

  it('kill -9 of an owner under traffic: every send acknowledged once, the log exact, every client on a survivor', async () => {
    const users = await Promise.all(Array.from({ length: 4 }, (_, i) => api.register(`ckill${i}`)));
    killedRoom = rooms[0]!;
    const members = users.map((u, i) => client(u, killedRoom, `ckill-${i}`));
    await Promise.all(members.map((m) => m.connect()));
    killedOwner = members[0]!.gatewayId!;
    expect(new Set(members.map((m) => m.gatewayId))).toEqual(new Set([killedOwner]));

    let killAt = 0;
    let ackedAtKill = 0;
    const totalAcks = () => members.reduce((n, m) => n + m.acks.length, 0);
    const killer = (async () => {
      const deadline = Date.now() + 60_000;
      while (totalAcks() < 150 && Date.now() < deadline) await sleep(2);
      ackedAtKill = totalAcks();
      killAt = Date.now();
      await stack.killGateway(killedOwner);
    })();
    const sent = await Promise.all(members.map((m, i) => m.sendMany(`ck${i}`, 100, 4)));
    await killer;

    try {
      expect(ackedAtKill).toBeGreaterThanOrEqual(150);
      expect(ackedAtKill).toBeLessThan(400);
      for (const [i, acks] of sent.entries()) {
        expect(acks).toHaveLength(100);
        expect(members[i]!.pending).toEqual([]);
      }
      const log = await logOf(pool, killedRoom);
      // 1 room.created + 4 member.joined (none of them created the room) + 400 sends.
      expect(log.map((r) => r.seq)).toEqual(Array.from({ length: 405 }, (_, i) => i + 1));
      expect(compareLogWithAcks(log, members.map((m) => ({ userId: m.user.user.id, acks: m.acks })))).toEqual([]);
      await waitFor('every client on a surviving gateway', async () => members.every((m) => m.gatewayId && m.gatewayId !== killedOwner), 20_000);
      for (const m of members) await m.caughtUp(405);
      for (const m of members) expect(compareClientWithLog(m, log)).toEqual([]);
    } catch (err) {
      console.log(stack.logs());
      throw err;
    }
    const servedAgain = members.map((m) => (m.acks.find((a) => a.gatewayId !== killedOwner && a.at >= killAt)?.at ?? NaN) - killAt);
    reportFigure(SUITE, 'kill -9 on a Redis Cluster: clients served again (max over 4 clients)', Math.max(...servedAgain) / 1000, 's', {
      gatewayTtlSeconds: 3,
      ackedAtKill,
    });
  });

  it('a drain moves every room of the drained gateway, its members’ traffic included, and no room stays with it', async () => {
    await waitForGatewayStatus(api, admin, killedOwner, 'gone', 15_000);
    const live = stack.gateways.filter((g) => g.id !== killedOwner).map((g) => g.id);
    const byGateway = await ownersOfRooms(rooms);
    const target = live[0]!;
    const targetRooms = byGateway.get(target) ?? [];
    expect(targetRooms.length).toBeGreaterThan(0);

    // Members in a few of its rooms (not the one of the kill, whose log the export checks), sending while the drain runs.
    const served = targetRooms.filter((id) => id !== killedRoom).slice(0, 4);
    const users = await Promise.all(served.map((_, i) => api.register(`cdrain${i}`)));
    const members = served.map((roomId, i) => client(users[i]!, roomId, `cdrain-${i}`));
    await Promise.all(members.map((m) => m.connect()));
    expect(new Set(members.map((m) => m.gatewayId))).toEqual(new Set([target]));
    let stopping = false;
    const load = members.map(async (m, i) => {
      for (let n = 0; !stopping; n++) await m.send(`cd-${i}-${n}`, `drain traffic ${n}`);
    });

    const drainAt = Date.now();
    const drain = await api.request('POST', `/admin/gateways/${target}/drain`, { token: admin.token });
    expect(drain.status).toBe(202);
    await waitFor(
      'the drained gateway to be gone with 0 rooms',
      async () => {
        const res = await api.request('GET', '/admin/gateways', { token: admin.token });
        const gw = res.body.gateways.find((g: { id: string }) => g.id === target);
        return gw?.status === 'gone' && gw.rooms === 0;
      },
      60_000,
      200,
    );
    await waitFor('every member served by another gateway', async () => members.every((m) => m.acks.some((a) => a.at > drainAt && a.gatewayId !== target)), 30_000);
    stopping = true;
    await Promise.all(load);
    const drainMs = Date.now() - drainAt;

    // Every room that was the drained gateway's is now placed on a live, other gateway.
    for (const roomId of targetRooms) {
      const placed = await api.connection(admin.token, roomId);
      expect([roomId, live.includes(placed.gatewayId) && placed.gatewayId !== target]).toEqual([roomId, true]);
    }
    expect(await cluster.zcard(keys.gatewayRooms(target))).toBe(0);
    for (const [i, m] of members.entries()) {
      expect(m.moved.some((e) => e.reason === 'drain')).toBe(true);
      const log = await logOf(pool, served[i]!);
      expect(compareLogWithAcks(log, [{ userId: m.user.user.id, acks: m.acks }])).toEqual([]);
    }
    reportFigure(SUITE, 'drain on a Redis Cluster: request to every member served elsewhere', drainMs, 'ms', { rooms: targetRooms.length });
  });

  it('an export of the room that went through the kill finishes and downloads, equal to its history', async () => {
    const requested = await api.request('POST', `/admin/rooms/${killedRoom}/exports`, { token: admin.token, body: { format: 'ndjson' } });
    expect(requested.status).toBe(202);
    const id = requested.body.export.id as string;
    const done = await waitFor(
      'the export to finish',
      async () => {
        const res = await api.request('GET', `/admin/exports/${id}`, { token: admin.token });
        if (res.body.export.status === 'failed') throw new Error(`export failed: ${JSON.stringify(res.body)}`);
        return res.body.export.status === 'done' ? res.body.export : undefined;
      },
      60_000,
      200,
    );
    expect(done).toMatchObject({ roomId: killedRoom, events: 405 }); // with the 4 member.joined
    const res = await fetch(`${stack.apiUrl}/admin/exports/${id}/download`, { headers: { authorization: `Bearer ${admin.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/gzip');
    const lines = gunzipSync(Buffer.from(await res.arrayBuffer()))
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    const history = await api.allEvents(admin.token, killedRoom);
    expect(lines).toEqual(history);
    expect(lines.map((e: { seq: number }) => e.seq)).toEqual(Array.from({ length: 405 }, (_, i) => i + 1));
    // The job went through BullMQ on the cluster, under its hash-tagged prefix.
    expect(await cluster.exists(`{bull}:exports:export-${id}`)).toBe(1);
  });
});
