import { DomainError } from '../../../../libs/domain/src';
import { isRedisUnreachable, pickLeastLoaded, type GatewayInfo, type GatewayRegistry, type RoomOwnership } from '../../../../libs/routing/src';
import type { Placement, Scheduler } from './scheduler';

/** Gateways register in Redis with heartbeats; room → owner lives there too. */
export class RedisScheduler implements Scheduler {
  constructor(
    private readonly registry: GatewayRegistry,
    private readonly ownership: RoomOwnership,
  ) {}

  /**
   * Placing a new room is an optimisation (runs of new rooms spread before any client comes):
   * with Redis unreachable the room is still created, and placed on its first connection. So
   * here an unreachable Redis is `no_gateway` (no gateway can be chosen now), which room
   * creation tolerates, rather than a 503 for a room that was created.
   */
  async placeNewRoom(roomId: string): Promise<Placement> {
    try {
      return await this.resumeRoom(roomId);
    } catch (err) {
      if (isRedisUnreachable(err)) {
        throw new DomainError('no_gateway', 'redis unreachable: the room is placed on its first connection');
      }
      throw err;
    }
  }

  async resumeRoom(roomId: string): Promise<Placement> {
    const [owner, gateways] = await Promise.all([this.ownership.ownerOf(roomId), this.registry.list()]);
    const current = owner ? gateways.find((gw) => gw.id === owner) : undefined;
    if (current?.status === 'active') return { gatewayId: current.id, url: current.url };
    // A draining owner hands its rooms over one by one (final snapshot, release): moving the
    // room under it would fence its last commits and snapshot. Clients retry until released.
    if (current?.status === 'draining') throw new DomainError('unavailable', 'the room is being handed over; retry shortly');
    // Owner dead or gone: move the room. The CAS makes racing schedulers agree.
    let expected = owner;
    for (let attempt = 0; attempt < 3; attempt++) {
      const choice = pickLeastLoaded(gateways, roomId);
      if (!choice) throw new DomainError('no_gateway', 'no live gateway can take the room; try again shortly');
      const winner = await this.ownership.assign(roomId, expected, choice.id);
      expected = winner;
      const chosen = gateways.find((gw) => gw.id === winner);
      if (chosen?.status === 'active') return { gatewayId: chosen.id, url: chosen.url };
      markTaken(gateways, winner);
    }
    throw new DomainError('no_gateway', 'room placement is contended; try again');
  }
}

function markTaken(gateways: GatewayInfo[], id: string): void {
  const gw = gateways.find((g) => g.id === id);
  if (gw) gw.status = 'gone';
}
