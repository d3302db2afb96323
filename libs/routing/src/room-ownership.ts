import type { Redis } from 'ioredis';
import { keys } from './keys';

/** How long a gateway's revoked-room notices wait to be taken, seconds (a gateway gone that long is forgotten). */
const REVOKED_TTL_SECONDS = 86_400;

/**
 * Compare-and-set of a room's owner, so two schedulers resuming the same room at once agree on
 * one owner. KEYS[1] owner key, KEYS[2] the new owner's rooms, KEYS[3] the expected owner's
 * rooms, KEYS[4] the expected owner's revoked set; ARGV[1] expected owner ('' for none),
 * ARGV[2] new owner, ARGV[3] now (ms), ARGV[4] room id. A vanished owner key counts as a match.
 * The previous owner learns of the move through its revoked set (one read a second for the
 * whole gateway, however many rooms it holds). Returns the owner after the call.
 */
const ASSIGN_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return current end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[4])
if current and current ~= ARGV[2] then
  redis.call('ZREM', KEYS[3], ARGV[4])
  redis.call('SADD', KEYS[4], ARGV[4])
  redis.call('EXPIRE', KEYS[4], ${REVOKED_TTL_SECONDS})
end
return ARGV[2]`;

/** Deletes the owner only if it is still ARGV[1]; KEYS[1] owner key, KEYS[2] its rooms; ARGV[2] room id. Returns 1 when released. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1`;

/** Room → owning gateway, in Redis. The fence itself (epochs) lives in Postgres. */
export class RoomOwnership {
  constructor(private readonly redis: Redis) {}

  ownerOf(roomId: string): Promise<string | null> {
    return this.redis.get(keys.roomOwner(roomId));
  }

  /** Owners of many rooms in one round trip (null: unassigned). */
  async ownersOf(roomIds: readonly string[]): Promise<Array<string | null>> {
    if (roomIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of roomIds) pipeline.get(keys.roomOwner(id));
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, value]) => {
      if (err) throw err;
      return (value as string | null) ?? null;
    });
  }

  /** Gives the room up if `gatewayId` still owns it (drain, idle unload), so the next resume places it anew. */
  async release(roomId: string, gatewayId: string): Promise<boolean> {
    return (await this.redis.eval(RELEASE_SCRIPT, 2, keys.roomOwner(roomId), keys.gatewayRooms(gatewayId), gatewayId, roomId)) === 1;
  }

  /**
   * Moves the room to `next` if its owner is still `expected` (null: unassigned). Returns the
   * owner afterwards, which is someone else's choice when another scheduler won the race.
   */
  async assign(roomId: string, expected: string | null, next: string): Promise<string> {
    const previous = expected ?? next; // with no expected owner, KEYS[3..4] are never touched
    const owner = (await this.redis.eval(
      ASSIGN_SCRIPT,
      4,
      keys.roomOwner(roomId),
      keys.gatewayRooms(next),
      keys.gatewayRooms(previous),
      keys.gatewayRevoked(previous),
      expected ?? '',
      next,
      Date.now(),
      roomId,
    )) as string | null;
    return owner ?? next;
  }

  /** The gateway loaded the room: its assignment is no longer one a client might not follow. */
  async markLoaded(roomId: string, gatewayId: string): Promise<void> {
    await this.redis.zadd(keys.gatewayRooms(gatewayId), 'XX', '+inf', roomId);
  }

  /**
   * At a gateway's start: none of the rooms assigned to it is loaded any more, so every one of
   * them becomes an assignment that the next `staleAssignments` may hand back.
   */
  async forgetLoaded(gatewayId: string): Promise<void> {
    const key = keys.gatewayRooms(gatewayId);
    await this.redis.zunionstore(key, 1, key, 'WEIGHTS', 0);
  }

  /** Rooms assigned to the gateway before `olderThanMs` that it has not loaded since (at most `limit`). */
  staleAssignments(gatewayId: string, olderThanMs: number, limit = 500): Promise<string[]> {
    return this.redis.zrangebyscore(keys.gatewayRooms(gatewayId), '-inf', String(olderThanMs), 'LIMIT', 0, limit);
  }

  /** The rooms moved away from the gateway since the last call, taken atomically. */
  async takeRevoked(gatewayId: string): Promise<string[]> {
    const key = keys.gatewayRevoked(gatewayId);
    const [read] = (await this.redis.multi().smembers(key).del(key).exec()) ?? [];
    if (read?.[0]) throw read[0];
    return (read?.[1] as string[] | undefined) ?? [];
  }
}
