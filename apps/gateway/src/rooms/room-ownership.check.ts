import { rendezvousOwner, type RoomOwnership } from '../../../../libs/routing/src';

/** Whether this gateway is the room's assigned owner, per the scheduler in use. */
export interface OwnershipCheck {
  owns(roomId: string): Promise<boolean>;
}

/** Redis scheduler: the owner is what the API assigned in Redis. */
export class RedisOwnershipCheck implements OwnershipCheck {
  constructor(
    private readonly ownership: RoomOwnership,
    private readonly gatewayId: string,
  ) {}

  async owns(roomId: string): Promise<boolean> {
    return (await this.ownership.ownerOf(roomId)) === this.gatewayId;
  }
}

/** Static scheduler: every process derives the same owner from the fixed gateway list. */
export class StaticOwnershipCheck implements OwnershipCheck {
  constructor(
    private readonly gatewayIds: string[],
    private readonly gatewayId: string,
  ) {}

  async owns(roomId: string): Promise<boolean> {
    return rendezvousOwner(roomId, this.gatewayIds) === this.gatewayId;
  }
}
