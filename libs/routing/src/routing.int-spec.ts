import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { parseConfig } from '../../config/src';
import { DomainError } from '../../domain/src';
import { GatewayRegistry, type Heartbeat } from './gateway-registry';
import { keys } from './keys';
import { createRedisClient, isCluster, type RedisClient, type RedisTarget } from './redis-connection';
import { ASSIGNMENT_GRACE_MS, RoomOwnership } from './room-ownership';

/**
 * Real Redis, on a database index of its own so the directory key (gw:index) is not shared with
 * the end-to-end suites; or, with REDIS_CLUSTER_NODES set (the cluster run of `npm test`), a
 * real Redis Cluster, where any call spanning two hash slots fails with CROSSSLOT. Gateway ids
 * are random anyway, and afterAll removes exactly what this file created.
 */
const TARGET: RedisTarget = {
  redisUrl: process.env.ROUTING_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/2',
  redisClusterNodes: parseConfig({ REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES }).redisClusterNodes,
};

const run = randomUUID().slice(0, 8);
const createdGateways = new Set<string>();
const createdRooms = new Set<string>();

function gatewayId(name: string): string {
  const id = `t-${run}-${name}`;
  createdGateways.add(id);
  return id;
}

function roomId(): string {
  const id = randomUUID();
  createdRooms.add(id);
  return id;
}

function hb(id: string, over: Partial<Heartbeat> = {}): Heartbeat {
  return { id, url: `http://127.0.0.1:9/${id}`, status: 'active', rooms: 3, connections: 7, capacity: 100, ...over };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let redis: RedisClient;

beforeAll(async () => {
  redis = createRedisClient(TARGET);
  await redis.ping();
});

afterAll(async () => {
  if (!redis) return;
  // One call a key: on a cluster they live in different slots.
  await Promise.all([
    ...[...createdGateways].flatMap((id) => [
      redis.del(keys.gateway(id)),
      redis.zrem(keys.gatewayIndex, id),
      redis.del(keys.gatewayRooms(id)),
      redis.del(keys.gatewayRevoked(id)),
      redis.del(keys.gatewayDrainRequest(id)),
    ]),
    ...[...createdRooms].map((id) => redis.del(keys.roomOwner(id))),
  ]);
  await redis.quit();
});

it(`runs against ${TARGET.redisClusterNodes ? 'a Redis Cluster' : 'a single Redis'}`, async () => {
  expect(isCluster(redis)).toBe(Boolean(TARGET.redisClusterNodes));
  if (isCluster(redis)) expect(await redis.cluster('INFO')).toContain('cluster_state:ok');
});

describe(GatewayRegistry.name, () => {
  it('lists and gets a gateway after its heartbeat', async () => {
    const registry = new GatewayRegistry(redis, 30);
    const id = gatewayId('live');
    await registry.heartbeat(hb(id, { rooms: 4, connections: 12 }));

    const listed = (await registry.list()).find((g) => g.id === id);
    expect(listed).toMatchObject({ id, url: `http://127.0.0.1:9/${id}`, status: 'active', rooms: 4, connections: 12, assigned: 0, capacity: 100 });
    expect(Number.isNaN(Date.parse(listed!.lastSeenAt!))).toBe(false);
    expect(await registry.get(id)).toEqual(listed);
  });

  it('a later heartbeat replaces status and counters', async () => {
    const registry = new GatewayRegistry(redis, 30);
    const id = gatewayId('update');
    await registry.heartbeat(hb(id));
    await registry.heartbeat(hb(id, { status: 'draining', rooms: 1, connections: 2 }));
    expect(await registry.get(id)).toMatchObject({ status: 'draining', rooms: 1, connections: 2 });
  });

  it('get of an unknown gateway is null', async () => {
    const registry = new GatewayRegistry(redis, 30);
    expect(await registry.get(`t-${run}-never-registered`)).toBeNull();
  });

  it("shows a gateway whose registration expired as 'gone'", async () => {
    const registry = new GatewayRegistry(redis, 1);
    const id = gatewayId('expires');
    await registry.heartbeat(hb(id, { rooms: 9, connections: 9 }));
    expect((await registry.get(id))?.status).toBe('active');

    await sleep(1_500);

    const gone = await registry.get(id);
    expect(gone).toMatchObject({ id, status: 'gone', rooms: 0, connections: 0 });
    expect(gone!.lastSeenAt).not.toBeNull();
  });

  it("deregister makes a gateway 'gone' at once but keeps it in the directory", async () => {
    const registry = new GatewayRegistry(redis, 30);
    const id = gatewayId('leaves');
    const other = gatewayId('stays');
    await registry.heartbeat(hb(id));
    await registry.heartbeat(hb(other));

    await registry.deregister(id);

    const list = await registry.list();
    expect(list.find((g) => g.id === id)?.status).toBe('gone');
    expect(list.find((g) => g.id === other)?.status).toBe('active');
  });

  it('reports the scheduler-assigned room count', async () => {
    const registry = new GatewayRegistry(redis, 30);
    const ownership = new RoomOwnership(redis);
    const id = gatewayId('assigned');
    await registry.heartbeat(hb(id));
    await ownership.assign(roomId(), null, id);
    await ownership.assign(roomId(), null, id);
    expect((await registry.get(id))?.assigned).toBe(2);
  });
});

describe(RoomOwnership.name, () => {
  const assignedOf = (id: string) => redis.zcard(keys.gatewayRooms(id));

  it('assigns an unassigned room and counts it', async () => {
    const ownership = new RoomOwnership(redis);
    const a = gatewayId('own-a');
    const room = roomId();
    expect(await ownership.ownerOf(room)).toBeNull();

    expect(await ownership.assign(room, null, a)).toBe(a);

    expect(await ownership.ownerOf(room)).toBe(a);
    expect(await assignedOf(a)).toBe(1);
  });

  it('on an expected-owner mismatch returns the current owner and changes nothing', async () => {
    const ownership = new RoomOwnership(redis);
    const a = gatewayId('cas-a');
    const b = gatewayId('cas-b');
    const c = gatewayId('cas-c');
    const room = roomId();
    await ownership.assign(room, null, a);

    // A second scheduler that thought the room unassigned loses the race.
    expect(await ownership.assign(room, null, b)).toBe(a);
    // One that expected another owner loses too.
    expect(await ownership.assign(room, c, b)).toBe(a);

    expect(await ownership.ownerOf(room)).toBe(a);
    expect(await assignedOf(a)).toBe(1);
    expect(await assignedOf(b)).toBe(0);
  });

  it('moves a room when the expected owner matches, moving the assigned count', async () => {
    const ownership = new RoomOwnership(redis);
    const a = gatewayId('move-a');
    const b = gatewayId('move-b');
    const room = roomId();
    const other = roomId();
    await ownership.assign(room, null, a);
    await ownership.assign(other, null, a);
    expect(await assignedOf(a)).toBe(2);

    expect(await ownership.assign(room, a, b)).toBe(b);

    expect(await ownership.ownerOf(room)).toBe(b);
    expect(await ownership.ownerOf(other)).toBe(a);
    expect(await assignedOf(a)).toBe(1);
    expect(await assignedOf(b)).toBe(1);
  });

  it('concurrent assigns of one unassigned room agree on a single owner', async () => {
    const ownership = new RoomOwnership(redis);
    const candidates = [gatewayId('race-1'), gatewayId('race-2'), gatewayId('race-3'), gatewayId('race-4')];
    const room = roomId();
    const results = await Promise.all(candidates.map((id) => ownership.assign(room, null, id)));
    const owner = await ownership.ownerOf(room);
    expect(candidates).toContain(owner);
    expect(new Set(results)).toEqual(new Set([owner]));
    const counts = await Promise.all(candidates.map(assignedOf));
    expect(counts.reduce((x, y) => x + y, 0)).toBe(1);
  });

  it('treats a vanished owner key as a match', async () => {
    const ownership = new RoomOwnership(redis);
    const a = gatewayId('vanish-a');
    const b = gatewayId('vanish-b');
    const room = roomId();
    expect(await ownership.assign(room, a, b)).toBe(b);
    expect(await ownership.ownerOf(room)).toBe(b);
  });

  it('tells the previous owner, and only it, that a room moved away', async () => {
    const ownership = new RoomOwnership(redis);
    const a = gatewayId('rev-a');
    const b = gatewayId('rev-b');
    const moved = roomId();
    const kept = roomId();
    await ownership.assign(moved, null, a);
    await ownership.assign(kept, null, a);
    expect(await ownership.takeRevoked(a)).toEqual([]);

    await ownership.assign(moved, a, b);

    expect(await ownership.takeRevoked(b)).toEqual([]);
    expect(await ownership.takeRevoked(a)).toEqual([moved]);
    // Taken once: the notice is not repeated.
    expect(await ownership.takeRevoked(a)).toEqual([]);
  });

  it('releases only for the current owner, dropping the room from its count', async () => {
    const ownership = new RoomOwnership(redis);
    const a = gatewayId('rel-a');
    const b = gatewayId('rel-b');
    const room = roomId();
    await ownership.assign(room, null, a);

    expect(await ownership.release(room, b)).toBe(false);
    expect(await ownership.ownerOf(room)).toBe(a);

    expect(await ownership.release(room, a)).toBe(true);
    expect(await ownership.ownerOf(room)).toBeNull();
    expect(await assignedOf(a)).toBe(0);
  });

  it('lists assignments no load followed as stale, loaded rooms never, and all of them again after a restart', async () => {
    const ownership = new RoomOwnership(redis);
    const a = gatewayId('stale-a');
    const loaded = roomId();
    const orphan = roomId();
    await ownership.assign(loaded, null, a);
    await ownership.assign(orphan, null, a);
    await ownership.markLoaded(loaded, a);
    // markLoaded of a room not assigned here adds nothing.
    await ownership.markLoaded(roomId(), a);

    expect(await ownership.staleAssignments(a, Date.now() - 60_000)).toEqual([]);
    expect(await ownership.staleAssignments(a, Date.now() + 1)).toEqual([orphan]);
    expect(await assignedOf(a)).toBe(2);

    await ownership.forgetLoaded(a);
    expect((await ownership.staleAssignments(a, 0)).sort()).toEqual([loaded, orphan].sort());
  });

  it('a room set holds exactly its owner’s rooms after moves and releases, whoever raced', async () => {
    const ownership = new RoomOwnership(redis);
    const [a, b, c] = [gatewayId('book-a'), gatewayId('book-b'), gatewayId('book-c')];
    const rooms = Array.from({ length: 12 }, () => roomId());
    await Promise.all(rooms.map((room, i) => ownership.assign(room, null, [a, b, c][i % 3]!)));
    // Three schedulers race to move every room of a; each room ends on exactly one gateway.
    const ofA = rooms.filter((_, i) => i % 3 === 0);
    await Promise.all(ofA.flatMap((room) => [ownership.assign(room, a, b), ownership.assign(room, a, c), ownership.assign(room, a, b)]));
    await ownership.release(rooms[1]!, b);

    const owners = await ownership.ownersOf(rooms);
    for (const gw of [a, b, c]) {
      const expected = rooms.filter((_, i) => owners[i] === gw).sort();
      expect((await redis.zrange(keys.gatewayRooms(gw), '0', '-1')).sort()).toEqual(expected);
    }
    expect(owners[1]).toBeNull();
    expect((await ownership.takeRevoked(a)).sort()).toEqual([...ofA].sort());
  });

  it('release takes a loaded room out of its gateway’s set; a non-owner’s release keeps a fresh assignment and drops an old one', async () => {
    const ownership = new RoomOwnership(redis);
    const [a, b] = [gatewayId('forget-a'), gatewayId('forget-b')];
    const loaded = roomId();
    await ownership.assign(loaded, null, a);
    await ownership.markLoaded(loaded, a);
    expect(await ownership.release(loaded, a)).toBe(true);
    expect(await assignedOf(a)).toBe(0);

    // b's entries for rooms it does not own: one fresh (an assignment in progress), one old.
    const fresh = roomId();
    const old = roomId();
    await redis.zadd(keys.gatewayRooms(b), String(Date.now()), fresh);
    await redis.zadd(keys.gatewayRooms(b), String(Date.now() - ASSIGNMENT_GRACE_MS - 1_000), old);
    expect(await ownership.release(fresh, b)).toBe(false);
    expect(await ownership.release(old, b)).toBe(false);
    expect(await redis.zrange(keys.gatewayRooms(b), '0', '-1')).toEqual([fresh]);
  });

  it('a scheduler that died after its CAS leaves the old owner’s entry behind; forgetAssignment removes it, never a fresh one', async () => {
    const ownership = new RoomOwnership(redis);
    const [a, b] = [gatewayId('crash-a'), gatewayId('crash-b')];
    const moved = roomId();
    await ownership.assign(moved, null, a);
    await ownership.markLoaded(moved, a);
    // The CAS alone, as a scheduler that died before its bookkeeping would leave it.
    await redis.set(keys.roomOwner(moved), b);
    expect(await redis.zscore(keys.gatewayRooms(a), moved)).toBe('inf');
    expect(await ownership.forgetAssignment(a, moved)).toBe(true);
    expect(await assignedOf(a)).toBe(0);

    // A scheduler that died after entering the room in a's set, before its CAS.
    const reserved = roomId();
    await redis.zadd(keys.gatewayRooms(a), String(Date.now()), reserved);
    expect(await ownership.forgetAssignment(a, reserved)).toBe(false);
    expect(await ownership.forgetAssignment(a, reserved, Date.now() + ASSIGNMENT_GRACE_MS + 1)).toBe(true);
  });

  it('scanAssignments walks a large set in bounded steps and sees every entry once per round', async () => {
    const ownership = new RoomOwnership(redis);
    const a = gatewayId('scan');
    const rooms = Array.from({ length: 450 }, () => roomId());
    await redis.zadd(keys.gatewayRooms(a), ...rooms.flatMap((room, i) => [i % 2 ? '+inf' : String(1000 + i), room]));
    const seen = new Map<string, number>();
    let cursor = '0';
    let steps = 0;
    do {
      const step = await ownership.scanAssignments(a, cursor, 100);
      expect(step.entries.length).toBeLessThan(rooms.length);
      for (const entry of step.entries) seen.set(entry.roomId, entry.assignedAt);
      cursor = step.cursor;
      steps += 1;
    } while (cursor !== '0' && steps < 100);
    expect(steps).toBeGreaterThan(1);
    expect(seen.size).toBe(rooms.length);
    expect(seen.get(rooms[1]!)).toBe(Number.POSITIVE_INFINITY);
    expect(seen.get(rooms[2]!)).toBe(1002);
  });
});

describe('Redis unreachable', () => {
  /** Accepts connections and never answers: a hung Redis (or one behind a dead network path). */
  let blackHole: Server;
  const held = new Set<Socket>();
  let blackHolePort = 0;

  beforeAll(async () => {
    blackHole = createServer((socket) => {
      held.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', () => resolve()));
    blackHolePort = (blackHole.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await new Promise<void>((resolve) => blackHole.close(() => resolve()));
  });

  /** The error `call` ends with. Without the deadline, a call to the black hole never ends and the test times out. */
  function failure(call: () => Promise<unknown>): Promise<unknown> {
    return call().then(
      () => undefined,
      (err: unknown) => err,
    );
  }

  it.each([
    ['refusing connections', () => ({ redisUrl: 'redis://127.0.0.1:1/0' })],
    ['accepting connections and never answering', () => ({ redisUrl: `redis://127.0.0.1:${blackHolePort}/0` })],
    ['a cluster whose seed nodes never answer', () => ({ redisUrl: 'redis://127.0.0.1:1/0', redisClusterNodes: [{ host: '127.0.0.1', port: blackHolePort }] })],
  ])('%s: every routing call fails with unavailable "redis unreachable", first call and later ones', async (_name, target) => {
    const client = createRedisClient(target());
    try {
      const ownership = new RoomOwnership(client);
      const registry = new GatewayRegistry(client, 30);
      const calls: Array<() => Promise<unknown>> = [
        () => ownership.ownerOf(randomUUID()),
        () => ownership.assign(randomUUID(), null, 'gw-x'),
        () => registry.list(),
        () => registry.heartbeat(hb('gw-x')),
        () => ownership.takeRevoked('gw-x'),
      ];
      for (const call of [...calls, ...calls]) {
        const error = await failure(call);
        expect(error).toBeInstanceOf(DomainError);
        expect(error).toMatchObject({ code: 'unavailable', message: 'redis unreachable' });
      }
    } finally {
      client.disconnect();
    }
  });

  it('a reply that is a bug (WRONGTYPE) stays an error of its own, not "unavailable"', async () => {
    const ownership = new RoomOwnership(redis);
    const room = roomId();
    await redis.hset(keys.roomOwner(room), 'not', 'a string');
    const error = await ownership.ownerOf(room).catch((err: unknown) => err);
    expect(error).not.toBeInstanceOf(DomainError);
    expect((error as Error).message).toMatch(/WRONGTYPE/);
  });
});
