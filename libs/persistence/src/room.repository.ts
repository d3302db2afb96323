import type { EventEnvelope, RoomVisibility } from '../../domain/src';
import { isUuid, type Database } from './database';

export interface RoomRecord {
  id: string;
  name: string;
  createdAt: Date;
  createdBy: string;
  headSeq: number;
  epoch: number;
  ownerGatewayId: string | null;
  visibility: string;
}

export interface Lease {
  roomId: string;
  name: string;
  epoch: number;
  headSeq: number;
  /** The room's creator, its owner (for snapshots older than membership, see adoptLegacyOwner). */
  creator?: { id: string; username: string };
}

export class RoomRepository {
  constructor(private readonly db: Database) {}

  /**
   * Creates a room and its first event, `room.created` at seq 1, in one transaction, so no room
   * ever exists without it; the creator's projection row (owner) is written with them.
   */
  async create(
    name: string,
    creator: { id: string; username: string },
    visibility: RoomVisibility = 'public',
  ): Promise<{ room: RoomRecord; event: EventEnvelope }> {
    const createdAt = new Date();
    const room = await this.db.prisma.$transaction(async (tx) => {
      const created = await tx.room.create({ data: { name, createdBy: creator.id, createdAt, headSeq: 1, visibility } });
      await tx.roomEvent.create({
        data: {
          roomId: created.id,
          seq: 1,
          type: 'room.created',
          actorId: creator.id,
          actorUsername: creator.username,
          data: { name, visibility },
          createdAt,
        },
      });
      await tx.roomMember.create({
        data: { roomId: created.id, userId: creator.id, username: creator.username, status: 'member', role: 'owner' },
      });
      return created;
    });
    const event: EventEnvelope = {
      roomId: room.id,
      seq: 1,
      type: 'room.created',
      ts: createdAt.toISOString(),
      actor: { id: creator.id, username: creator.username },
      data: { name, visibility },
    };
    return { room, event };
  }

  async find(roomId: string): Promise<RoomRecord | null> {
    if (!isUuid(roomId)) return null;
    return this.db.prisma.room.findUnique({ where: { id: roomId } });
  }

  /**
   * Takes the room's write lease for `gatewayId`: raises the epoch (the fence every later append
   * is checked against) and returns the committed head. Any previous owner's appends fail from
   * the moment this commits. Null when the room does not exist.
   */
  async takeLease(roomId: string, gatewayId: string): Promise<Lease | null> {
    if (!isUuid(roomId)) return null;
    const { rows } = await this.db.pool.query<{ name: string; epoch: number; head_seq: number; created_by: string; creator_username: string | null }>(
      `UPDATE rooms SET epoch = epoch + 1, owner_gateway_id = $2 WHERE id = $1
       RETURNING name, epoch, head_seq, created_by, (SELECT username FROM users WHERE id = rooms.created_by) AS creator_username`,
      [roomId, gatewayId],
    );
    const row = rows[0];
    return row
      ? { roomId, name: row.name, epoch: row.epoch, headSeq: row.head_seq, creator: { id: row.created_by, username: row.creator_username ?? '' } }
      : null;
  }

  /** The committed head and current epoch, to check a lease is still held. */
  async leaseState(roomId: string): Promise<{ epoch: number; headSeq: number } | null> {
    const { rows } = await this.db.pool.query<{ epoch: number; head_seq: number }>('SELECT epoch, head_seq FROM rooms WHERE id = $1', [roomId]);
    const row = rows[0];
    return row ? { epoch: row.epoch, headSeq: row.head_seq } : null;
  }
}
