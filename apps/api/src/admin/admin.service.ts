import { Injectable } from '@nestjs/common';
import { DomainError } from '../../../../libs/domain/src';
import { RoomRepository, SnapshotRepository } from '../../../../libs/persistence/src';
import { GatewayRegistry, RoomOwnership, type GatewayInfo } from '../../../../libs/routing/src';

export interface AdminRoomView {
  room: { id: string; name: string; createdAt: string; createdBy: string };
  headSeq: number;
  owner: { gatewayId: string; epoch: number } | null;
  snapshot: { seq: number; createdAt: string; bytes: number } | null;
}

export type GatewayView = Omit<GatewayInfo, 'assigned' | 'capacity'>;

/** Where rooms live and how far their snapshots are: the operator's view. */
@Injectable()
export class AdminService {
  constructor(
    private readonly rooms: RoomRepository,
    private readonly snapshots: SnapshotRepository,
    private readonly ownership: RoomOwnership,
    private readonly gateways: GatewayRegistry,
  ) {}

  async room(roomId: string): Promise<AdminRoomView> {
    const room = await this.rooms.find(roomId);
    if (!room) throw new DomainError('not_found', 'no such room');
    const [ownerId, snapshot] = await Promise.all([this.ownership.ownerOf(roomId), this.snapshots.latest(roomId)]);
    return {
      room: { id: room.id, name: room.name, createdAt: room.createdAt.toISOString(), createdBy: room.createdBy },
      headSeq: room.headSeq,
      owner: ownerId ? { gatewayId: ownerId, epoch: room.epoch } : null,
      snapshot: snapshot ? { seq: snapshot.seq, createdAt: snapshot.createdAt.toISOString(), bytes: snapshot.bytes } : null,
    };
  }

  /**
   * Asks a gateway to drain (it sees the request within a heartbeat). Idempotent: a gateway that
   * is already draining or gone is returned as it is.
   */
  async drainGateway(id: string): Promise<GatewayView> {
    const gateway = await this.gateways.get(id);
    if (!gateway) throw new DomainError('not_found', `no gateway "${id}"`);
    if (gateway.status === 'active') {
      await this.gateways.requestDrain(id);
      gateway.status = 'draining';
    }
    const { assigned: _assigned, capacity: _capacity, ...view } = gateway;
    return view;
  }

  async listGateways(): Promise<GatewayView[]> {
    return (await this.gateways.list()).map(({ assigned: _assigned, capacity: _capacity, ...view }) => view);
  }
}
