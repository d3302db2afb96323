import { keys } from './keys';
import type { GatewayInfo } from './placement';
import { execResults, redisCall } from './redis-call';
import type { RedisClient } from './redis-connection';

/** How long a gateway that stopped heartbeating stays listed as `gone`. */
const GONE_RETENTION_MS = 24 * 3600 * 1000;

export interface Heartbeat {
  id: string;
  url: string;
  status: 'active' | 'draining';
  rooms: number;
  connections: number;
  /** MAX_ROOMS_PER_GATEWAY: placement gives the gateway no room beyond it. */
  capacity: number;
}

/**
 * Gateways register themselves here with a heartbeat; a gateway whose heartbeat expired is
 * `gone`. Used by gateways (write) and by the API scheduler and admin directory (read).
 *
 * A gateway's own keys (`gw:{id}:…`) share its hash slot and are written together; the
 * directory `gw:index` is one key of its own, written alongside: nothing spans two slots.
 */
export class GatewayRegistry {
  constructor(
    private readonly redis: RedisClient,
    /** Seconds a registration survives without a heartbeat. */
    private readonly ttlSeconds: number,
  ) {}

  async heartbeat(hb: Heartbeat): Promise<void> {
    const now = Date.now();
    await redisCall(this.redis, async () => {
      const [own] = await Promise.all([
        this.redis
          .multi()
          .hset(keys.gateway(hb.id), {
            id: hb.id,
            url: hb.url,
            status: hb.status,
            rooms: hb.rooms,
            connections: hb.connections,
            capacity: hb.capacity,
            lastSeenAt: new Date(now).toISOString(),
          })
          .pexpire(keys.gateway(hb.id), this.ttlSeconds * 1000)
          // A gateway gone for as long as the directory remembers it leaves no room lists behind.
          .pexpire(keys.gatewayRooms(hb.id), GONE_RETENTION_MS)
          .exec(),
        this.redis.zadd(keys.gatewayIndex, now, hb.id),
      ]);
      execResults(own);
    });
  }

  /** Removes the live registration at once (clean exit), keeping the id in the directory as `gone`. */
  async deregister(id: string): Promise<void> {
    await redisCall(this.redis, () => this.redis.del(keys.gateway(id)));
  }

  /**
   * Asks a gateway to drain. A key rather than pub/sub, so a gateway that was briefly cut off
   * from Redis still sees the request on its next heartbeat. It expires after a day.
   */
  async requestDrain(id: string): Promise<void> {
    await redisCall(this.redis, () => this.redis.set(keys.gatewayDrainRequest(id), new Date().toISOString(), 'EX', 86_400));
  }

  async drainRequested(id: string): Promise<boolean> {
    return (await redisCall(this.redis, () => this.redis.exists(keys.gatewayDrainRequest(id)))) === 1;
  }

  /** A (re)started gateway starts active: an old request was for its previous life. */
  async clearDrainRequest(id: string): Promise<void> {
    await redisCall(this.redis, () => this.redis.del(keys.gatewayDrainRequest(id)));
  }

  /**
   * Every known gateway, live or gone (for a day after its last heartbeat, then forgotten so the
   * directory and every placement do not grow with each gateway that ever ran), with its
   * assigned-room count.
   */
  async list(): Promise<GatewayInfo[]> {
    return redisCall(this.redis, async () => {
      const [, read] = execResults(
        await this.redis
          .multi()
          .zremrangebyscore(keys.gatewayIndex, '-inf', String(Date.now() - GONE_RETENTION_MS))
          .zrange(keys.gatewayIndex, '0', '-1', 'WITHSCORES')
          .exec(),
      );
      const entries = (read ?? []) as string[];
      const ids: string[] = [];
      const lastSeen = new Map<string, number>();
      for (let i = 0; i < entries.length; i += 2) {
        ids.push(entries[i]!);
        lastSeen.set(entries[i]!, Number(entries[i + 1]));
      }
      // One pipeline a gateway (its keys share a slot); all of them in flight at once.
      const perGateway = await Promise.all(
        ids.map(async (id) =>
          execResults(await this.redis.pipeline().hgetall(keys.gateway(id)).exists(keys.gatewayDrainRequest(id)).zcard(keys.gatewayRooms(id)).exec()),
        ),
      );
      return ids.map((id, i) => {
        const [infoRead, drainRead, assignedRead] = perGateway[i]!;
        const info = (infoRead ?? {}) as Record<string, string>;
        // A requested drain counts at once, before the gateway's next heartbeat confirms it, so
        // the scheduler stops choosing the gateway from the moment the operator asked.
        const drainRequested = drainRead === 1;
        const live = Boolean(info.id);
        const status = !live ? 'gone' : info.status === 'draining' || drainRequested ? 'draining' : 'active';
        return {
          id,
          url: info.url ?? '',
          status,
          rooms: live ? Number(info.rooms) : 0,
          connections: live ? Number(info.connections) : 0,
          assigned: Number(assignedRead ?? 0),
          // A registration from before capacities were published counts as unbounded.
          capacity: live && info.capacity ? Number(info.capacity) : Number.POSITIVE_INFINITY,
          lastSeenAt: info.lastSeenAt ?? new Date(lastSeen.get(id)!).toISOString(),
        };
      });
    });
  }

  async get(id: string): Promise<GatewayInfo | null> {
    return (await this.list()).find((gw) => gw.id === id) ?? null;
  }
}
