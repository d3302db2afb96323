import { Inject, Injectable } from '@nestjs/common';
import { TokenService, type Principal } from '../../../../libs/auth/src';
import { DomainError, type EventEnvelope } from '../../../../libs/domain/src';
import { EventLogRepository, RoomRepository, type RoomRecord } from '../../../../libs/persistence/src';
import type { Scheduler } from '../scheduler/scheduler';
import { SCHEDULER } from '../tokens';

export interface RoomView {
  id: string;
  name: string;
  createdAt: string;
  createdBy: string;
}

export interface ConnectionInfo {
  roomId: string;
  gatewayId: string;
  url: string;
  ticket: string;
  expiresAt: string;
}

export interface HistoryQuery {
  after?: number;
  before?: number;
  limit?: number;
}

const DEFAULT_PAGE = 100;

@Injectable()
export class RoomsService {
  constructor(
    private readonly rooms: RoomRepository,
    private readonly events: EventLogRepository,
    private readonly tokens: TokenService,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
  ) {}

  async create(name: string, creator: Principal): Promise<RoomView> {
    const { room } = await this.rooms.create(name, creator);
    // Place it now so a run of new rooms spreads over the gateways; without a live gateway the
    // room still exists and is placed on its first connection.
    await this.scheduler.placeNewRoom(room.id).catch((err: unknown) => {
      if (!(err instanceof DomainError && err.code === 'no_gateway')) throw err;
    });
    return view(room);
  }

  async get(roomId: string): Promise<RoomView & { headSeq: number }> {
    const room = await this.require(roomId);
    return { ...view(room), headSeq: room.headSeq };
  }

  /** `resumeRoom`: the room's live owner (or a new one) and a ticket for it. */
  async connect(roomId: string, user: Principal): Promise<ConnectionInfo> {
    await this.require(roomId);
    const placement = await this.scheduler.resumeRoom(roomId);
    const { ticket, expiresAt } = this.tokens.issueTicket(user, roomId, placement.gatewayId);
    return { roomId, gatewayId: placement.gatewayId, url: placement.url, ticket, expiresAt: expiresAt.toISOString() };
  }

  async history(roomId: string, query: HistoryQuery): Promise<{ events: EventEnvelope[]; headSeq: number }> {
    const room = await this.require(roomId);
    const limit = query.limit ?? DEFAULT_PAGE;
    const events =
      query.after !== undefined
        ? await this.events.readAfter(roomId, query.after, limit)
        : await this.events.readBefore(roomId, query.before, limit);
    return { events, headSeq: Math.max(room.headSeq, events[events.length - 1]?.seq ?? 0) };
  }

  private async require(roomId: string): Promise<RoomRecord> {
    const room = await this.rooms.find(roomId);
    if (!room) throw new DomainError('not_found', 'no such room');
    return room;
  }
}

function view(room: RoomRecord): RoomView {
  return { id: room.id, name: room.name, createdAt: room.createdAt.toISOString(), createdBy: room.createdBy };
}
