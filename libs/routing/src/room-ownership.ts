import { keys } from './keys';
import { execResults, redisCall } from './redis-call';
import type { RedisClient } from './redis-connection';

/** How long a gateway's revoked-room notices wait to be taken, seconds (a gateway gone that long is forgotten). */
const REVOKED_TTL_SECONDS = 86_400;

/**
 * An assignment younger than this (ms) is left alone by `forgetAssignment`: it may belong to an
 * assignment in progress, whose entry is written just before its owner key (see `assign`).
 */
export const ASSIGNMENT_GRACE_MS = 10_000;

/**
 * Compare-and-set of a room's owner: the one atomic step of an assignment, on the room's owner
 * key alone, so it stays within one Redis Cluster slot. KEYS[1] owner key; ARGV[1] expected
 * owner ('' for none), ARGV[2] new owner. A vanished owner key counts as a match. Returns
 * {owner after the call, owner before it ('' for none)}.
 */
const ASSIGN_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return {current, current} end
redis.call('SET', KEYS[1], ARGV[2])
return {ARGV[2], current or ''}`;

/** Deletes the owner only if it is still ARGV[1]; KEYS[1] owner key. Returns 1 when released. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

/**
 * Removes ARGV[1] from the gateway's room set KEYS[1] unless its entry is an assignment younger
 * than ARGV[2] (ms): a loaded room (+inf) or an old assignment goes, a fresh one stays.
 * Returns 1 when removed.
 */
const FORGET_SCRIPT = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 0 end
if score ~= 'inf' and tonumber(score) >= tonumber(ARGV[2]) then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])`;

/** One entry of a gateway's room set. */
export interface Assignment {
  roomId: string;
  /** When the scheduler assigned it (ms), or +Infinity once the gateway loaded it. */
  assignedAt: number;
}

/**
 * Room → owning gateway, in Redis. The fence itself (epochs) lives in Postgres.
 *
 * Key layout and atomicity (Redis Cluster: every multi-key call stays in one hash slot):
 * - `room:{id}:owner` is the truth of who owns a room, changed only by one-key scripts (assign's
 *   CAS, release), so racing schedulers agree on one owner.
 * - `gw:{id}:rooms` (assigned and loaded rooms) and `gw:{id}:revoked` (notices for the watcher)
 *   are bookkeeping that follows the owner key in separate calls, each within the gateway's slot.
 *   A process that dies between the CAS and its bookkeeping leaves them behind the truth; the
 *   owning gateway's periodic reconciliation (`scanAssignments` + `forgetAssignment`, run by the
 *   ownership watcher) brings them back.
 */
export class RoomOwnership {
  constructor(private readonly redis: RedisClient) {}

  ownerOf(roomId: string): Promise<string | null> {
    return redisCall(this.redis, () => this.redis.get(keys.roomOwner(roomId)));
  }

  /**
   * Owners of many rooms (null: unassigned). One GET a room, all written at once: each key is in
   * its own slot, and a cluster client routes each to its node.
   */
  ownersOf(roomIds: readonly string[]): Promise<Array<string | null>> {
    if (roomIds.length === 0) return Promise.resolve([]);
    return redisCall(this.redis, () => Promise.all(roomIds.map((id) => this.redis.get(keys.roomOwner(id)))));
  }

  /**
   * Gives the room up if `gatewayId` still owns it (drain, idle unload, abandoned assignment),
   * so the next resume places it anew, then takes it out of the gateway's set. When the room
   * was someone else's already, a fresh entry stays: it may be an assignment to this gateway in
   * progress. A failure between the two steps leaves an entry that the reconciliation removes.
   */
  release(roomId: string, gatewayId: string): Promise<boolean> {
    return redisCall(this.redis, async () => {
      const released = (await this.redis.eval(RELEASE_SCRIPT, 1, keys.roomOwner(roomId), gatewayId)) === 1;
      if (released) await this.redis.zrem(keys.gatewayRooms(gatewayId), roomId);
      else await this.redis.eval(FORGET_SCRIPT, 1, keys.gatewayRooms(gatewayId), roomId, Date.now() - ASSIGNMENT_GRACE_MS);
      return released;
    });
  }

  /**
   * Moves the room to `next` if its owner is still `expected` (null: unassigned). Returns the
   * owner afterwards, which is someone else's choice when another scheduler won the race.
   *
   * Three steps, each within one slot: the room is entered in `next`'s set first (so an owner
   * is always counted by its gateway, even if this process dies right after the CAS), then the
   * CAS on the owner key decides, then the loser withdraws its entry or the winner moves the
   * room out of the previous owner's set and leaves that gateway a revoked notice. The steps
   * after the CAS are best-effort: the reconciliation repairs what a crash leaves undone.
   */
  assign(roomId: string, expected: string | null, next: string): Promise<string> {
    return redisCall(this.redis, async () => {
      const entered = await this.redis.zadd(keys.gatewayRooms(next), Date.now(), roomId);
      const [owner, previous] = (await this.redis.eval(ASSIGN_SCRIPT, 1, keys.roomOwner(roomId), expected ?? '', next)) as [string, string];
      if (owner !== next) {
        if (entered === 1) await this.redis.zrem(keys.gatewayRooms(next), roomId).catch(() => undefined);
      } else if (previous && previous !== next) {
        await this.redis
          .multi()
          .zrem(keys.gatewayRooms(previous), roomId)
          .sadd(keys.gatewayRevoked(previous), roomId)
          .expire(keys.gatewayRevoked(previous), REVOKED_TTL_SECONDS)
          .exec()
          .catch(() => undefined);
      }
      return owner;
    });
  }

  /** The gateway loaded the room: its assignment is no longer one a client might not follow. */
  async markLoaded(roomId: string, gatewayId: string): Promise<void> {
    await redisCall(this.redis, () => this.redis.zadd(keys.gatewayRooms(gatewayId), 'XX', '+inf', roomId));
  }

  /**
   * At a gateway's start: none of the rooms assigned to it is loaded any more, so every one of
   * them becomes an assignment that the next `staleAssignments` may hand back.
   */
  async forgetLoaded(gatewayId: string): Promise<void> {
    const key = keys.gatewayRooms(gatewayId);
    await redisCall(this.redis, () => this.redis.zunionstore(key, 1, key, 'WEIGHTS', 0, 'AGGREGATE', 'SUM'));
  }

  /** Rooms assigned to the gateway before `olderThanMs` that it has not loaded since (at most `limit`). */
  staleAssignments(gatewayId: string, olderThanMs: number, limit = 500): Promise<string[]> {
    return redisCall(this.redis, () => this.redis.zrangebyscore(keys.gatewayRooms(gatewayId), '-inf', String(olderThanMs), 'LIMIT', 0, limit));
  }

  /**
   * One step of a walk over the gateway's room set: about `count` entries from `cursor` ('0'
   * starts a walk; the returned cursor is '0' when it went round). Bounded work per call,
   * whatever the size of the set.
   */
  scanAssignments(gatewayId: string, cursor: string, count = 200): Promise<{ cursor: string; entries: Assignment[] }> {
    return redisCall(this.redis, async () => {
      const [next, flat] = await this.redis.zscan(keys.gatewayRooms(gatewayId), cursor, 'COUNT', count);
      const entries: Assignment[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ roomId: flat[i]!, assignedAt: flat[i + 1] === 'inf' ? Number.POSITIVE_INFINITY : Number(flat[i + 1]) });
      return { cursor: next, entries };
    });
  }

  /**
   * Drops a room from the gateway's set when the gateway does not own it (reconciliation),
   * unless the entry is a fresh assignment (younger than ASSIGNMENT_GRACE_MS), which may be one
   * still in progress. Returns whether it was removed.
   */
  async forgetAssignment(gatewayId: string, roomId: string, now = Date.now()): Promise<boolean> {
    const removed = await redisCall(this.redis, () => this.redis.eval(FORGET_SCRIPT, 1, keys.gatewayRooms(gatewayId), roomId, now - ASSIGNMENT_GRACE_MS));
    return removed === 1;
  }

  /** The rooms moved away from the gateway since the last call, taken atomically (one key, one slot). */
  takeRevoked(gatewayId: string): Promise<string[]> {
    const key = keys.gatewayRevoked(gatewayId);
    return redisCall(this.redis, async () => {
      const [members] = execResults(await this.redis.multi().smembers(key).del(key).exec());
      return (members as string[] | undefined) ?? [];
    });
  }
}
