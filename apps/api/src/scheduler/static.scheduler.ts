import { DomainError } from '../../../../libs/domain/src';
import { rendezvousOwner } from '../../../../libs/routing/src';
import type { Placement, Scheduler } from './scheduler';

/**
 * A fixed list of gateways (STATIC_GATEWAYS), for local runs without Redis-based discovery. Each
 * room's owner is derived by rendezvous hashing, which the gateways compute the same way.
 */
export class StaticScheduler implements Scheduler {
  constructor(private readonly gateways: ReadonlyArray<{ id: string; url: string }>) {}

  placeNewRoom(roomId: string): Promise<Placement> {
    return this.resumeRoom(roomId);
  }

  async resumeRoom(roomId: string): Promise<Placement> {
    const owner = rendezvousOwner(
      roomId,
      this.gateways.map((g) => g.id),
    );
    const gateway = this.gateways.find((g) => g.id === owner);
    if (!gateway) throw new DomainError('no_gateway', 'no gateway configured');
    return { gatewayId: gateway.id, url: gateway.url };
  }
}
