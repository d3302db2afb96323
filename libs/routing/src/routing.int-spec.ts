import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { GatewayRegistry, type Heartbeat } from './gateway-registry';
import { keys } from './keys';
import { RoomOwnership } from './room-ownership';

/**
 * Real Redis, on a database index of its own so the directory keys (gw:index, gw:assigned) are
 * not shared with the end-to-end suites. Gateway ids are random anyway, and afterAll removes
 * exactly what this file created.
 */
const REDIS_URL = process.env.ROUTING_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/2';

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

let redis: Redis;

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  await redis.ping();
});

afterAll(async () => {
  if (!redis) return;
  const pipeline = redis.pipeline();
  for (const id of createdGateways) {
    pipeline.del(keys.gateway(id));
    pipeline.zrem(keys.gatewayIndex, id);
    pipeline.del(keys.gatewayRooms(id), keys.gatewayRevoked(id));
  }
  for (const id of createdRooms) pipeline.del(keys.roomOwner(id));
  await pipeline.exec();
  await redis.quit();
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
});
