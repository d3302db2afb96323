import type { Redis } from 'ioredis';
import { keys } from './keys';

/**
 * Compare-and-set of a room's owner, so two schedulers resuming the same room at once agree on
 * one owner. KEYS[1] owner key, KEYS[2] assigned-count hash; ARGV[1] expected owner ('' for
 * none), ARGV[2] new owner. A vanished owner key counts as a match. Returns the owner after
 * the call.
 */
const ASSIGN_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return current end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
if current then redis.call('HINCRBY', KEYS[2], current, -1) end
return ARGV[2]`;

/** Deletes the owner only if it is still ARGV[1]; KEYS as above. Returns 1 when released. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
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

  /** Gives the room up if `gatewayId` still owns it (drain), so the next resume places it anew. */
  async release(roomId: string, gatewayId: string): Promise<boolean> {
    return (await this.redis.eval(RELEASE_SCRIPT, 2, keys.roomOwner(roomId), keys.gatewayAssigned, gatewayId)) === 1;
  }

  /**
   * Moves the room to `next` if its owner is still `expected` (null: unassigned). Returns the
   * owner afterwards, which is someone else's choice when another scheduler won the race.
   */
  async assign(roomId: string, expected: string | null, next: string): Promise<string> {
    const owner = (await this.redis.eval(ASSIGN_SCRIPT, 2, keys.roomOwner(roomId), keys.gatewayAssigned, expected ?? '', next)) as
      | string
      | null;
    return owner ?? next;
  }
}
