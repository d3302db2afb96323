import { randomUUID } from 'node:crypto';
import { parseConfig } from '../../../../libs/config/src';
import { ASSIGNMENT_GRACE_MS, createRedisClient, keys, RoomOwnership, type RedisClient } from '../../../../libs/routing/src';
import type { RoomActor } from '../rooms/room.actor';
import type { RoomRegistry } from '../rooms/room.registry';
import { OwnershipWatcher, RECONCILE_BATCH } from './ownership.watcher';

/**
 * The watcher's reconciliation against real Redis (or, in the cluster run of `npm test`, a real
 * Redis Cluster): what a scheduler that died between an assignment's CAS and its bookkeeping
 * leaves behind is repaired by the gateway that holds the stale entries. The room registry is
 * the gateway's in-memory map, so a small stand-in of it is enough here.
 */
const TARGET = {
  redisUrl: process.env.ROUTING_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/2',
  redisClusterNodes: parseConfig({ REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES }).redisClusterNodes,
};

const run = randomUUID().slice(0, 8);
const gateways: string[] = [];
const rooms: string[] = [];
let redis: RedisClient;

function gatewayId(name: string): string {
  const id = `w-${run}-${name}`;
  gateways.push(id);
  return id;
}

function roomId(): string {
  const id = randomUUID();
  rooms.push(id);
  return id;
}

/** A loaded room as the watcher sees it: its id, whether it is lost, and loseRoom(). */
class HeldRoom {
  lostWith: string | undefined;
  constructor(readonly roomId: string) {}
  get isLost(): boolean {
    return this.lostWith !== undefined;
  }
  loseRoom(reason: string): void {
    this.lostWith = reason;
  }
}

function registryOf(held: HeldRoom[]): RoomRegistry {
  const byId = new Map(held.map((room) => [room.roomId, room]));
  return {
    get: (id: string) => byId.get(id) as unknown as RoomActor | undefined,
    holds: (id: string) => byId.has(id),
  } as unknown as RoomRegistry;
}

beforeAll(async () => {
  redis = createRedisClient(TARGET);
  await redis.ping();
});

afterAll(async () => {
  await Promise.all([
    ...gateways.flatMap((id) => [redis.del(keys.gatewayRooms(id)), redis.del(keys.gatewayRevoked(id))]),
    ...rooms.map((id) => redis.del(keys.roomOwner(id))),
  ]);
  await redis.quit();
});

describe(OwnershipWatcher.name, () => {
  it('reconcile: after a scheduler died between CAS and bookkeeping, the old owner drops the room and its entry; its own rooms and fresh assignments stay', async () => {
    const ownership = new RoomOwnership(redis);
    const a = gatewayId('a');
    const b = gatewayId('b');
    const kept = roomId();
    const moved = roomId();
    const orphan = roomId();
    const inProgress = roomId();
    for (const room of [kept, moved]) {
      await ownership.assign(room, null, a);
      await ownership.markLoaded(room, a);
    }
    // The scheduler moved `moved` to b and died before touching a's keys (no ZREM, no notice).
    await redis.set(keys.roomOwner(moved), b);
    // Another died after entering `orphan` in a's set, before its CAS (an old entry by now)…
    await redis.zadd(keys.gatewayRooms(a), String(Date.now() - ASSIGNMENT_GRACE_MS - 5_000), orphan);
    // …and one is entering `inProgress` right now.
    await redis.zadd(keys.gatewayRooms(a), String(Date.now()), inProgress);

    const held = [new HeldRoom(kept), new HeldRoom(moved)];
    const watcher = new OwnershipWatcher(registryOf(held), ownership, a, 120_000);
    expect(await ownership.takeRevoked(a)).toEqual([]);

    const result = await watcher.reconcile();

    expect(result).toEqual({ checked: 4, forgotten: 2, dropped: 1 });
    expect(held.map((room) => room.lostWith)).toEqual([undefined, 'failover']);
    expect((await redis.zrange(keys.gatewayRooms(a), '0', '-1')).sort()).toEqual([kept, inProgress].sort());
    // Once the grace has passed, the entry of an assignment that never happened goes too.
    expect(await watcher.reconcile(Date.now() + ASSIGNMENT_GRACE_MS + 1)).toMatchObject({ forgotten: 1 });
    expect(await redis.zrange(keys.gatewayRooms(a), '0', '-1')).toEqual([kept]);
  });

  it('reconcile walks a large set a bounded batch per pass and, pass after pass, clears every stale entry', async () => {
    const ownership = new RoomOwnership(redis);
    const a = gatewayId('big');
    const other = gatewayId('other');
    const stale = Array.from({ length: 3 * RECONCILE_BATCH }, () => roomId());
    const own = Array.from({ length: 20 }, () => roomId());
    await redis.zadd(keys.gatewayRooms(a), ...stale.flatMap((room) => ['+inf', room]));
    await Promise.all(stale.map((room) => redis.set(keys.roomOwner(room), other)));
    for (const room of own) await ownership.assign(room, null, a);
    const watcher = new OwnershipWatcher(registryOf([]), ownership, a, 120_000);

    const passes: number[] = [];
    const later = Date.now() + ASSIGNMENT_GRACE_MS + 1;
    while (passes.length < 20) {
      const { checked } = await watcher.reconcile(later);
      passes.push(checked);
      if ((await redis.zcard(keys.gatewayRooms(a))) === own.length) break;
    }

    expect(passes.length).toBeGreaterThan(1);
    expect(Math.max(...passes)).toBeLessThan(stale.length);
    expect((await redis.zrange(keys.gatewayRooms(a), '0', '-1')).sort()).toEqual([...own].sort());
  });
});
