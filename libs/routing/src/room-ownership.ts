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

/** Room → owning gateway, in Redis. The fence itself (epochs) lives in Postgres. */
export class RoomOwnership {
  constructor(private readonly redis: Redis) {}

  ownerOf(roomId: string): Promise<string | null> {
    return this.redis.get(keys.roomOwner(roomId));
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
