import { Inject, Injectable } from '@nestjs/common';
import { TokenService, type Principal } from '../../../../libs/auth/src';
import { DomainError, type EventEnvelope, type RoomVisibility } from '../../../../libs/domain/src';
import {
  EventLogRepository,
  isUuid,
  MembershipRepository,
  MessageSearchRepository,
  RoomRepository,
  type MemberView,
  type MyRoom,
  type RoomRecord,
  type RoomsCursor,
} from '../../../../libs/persistence/src';
import type { Scheduler } from '../scheduler/scheduler';
import { SCHEDULER } from '../tokens';

export interface RoomView {
  id: string;
  name: string;
  visibility: RoomVisibility;
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
const DEFAULT_ROOMS_PAGE = 50;

/** One entry of `GET /rooms`, with the caller's read marker and unread count in the room. */
export interface MyRoomView extends MyRoom {
  unread: number;
  lastReadSeq: number;
}

@Injectable()
export class RoomsService {
  constructor(
    private readonly rooms: RoomRepository,
    private readonly events: EventLogRepository,
    private readonly membership: MembershipRepository,
    private readonly messages: MessageSearchRepository,
    private readonly tokens: TokenService,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
  ) {}

  async create(name: string, creator: Principal, visibility: RoomVisibility = 'public'): Promise<RoomView> {
    const { room } = await this.rooms.create(name, creator, visibility);
    // Place it now so a run of new rooms spreads over the gateways; without a live gateway the
    // room still exists and is placed on its first connection.
    await this.scheduler.placeNewRoom(room.id).catch((err: unknown) => {
      if (!(err instanceof DomainError && err.code === 'no_gateway')) throw err;
    });
    return view(room);
  }

  async get(roomId: string, user: Principal): Promise<RoomView & { headSeq: number }> {
    await this.authorizeRead(roomId, user);
    const room = await this.require(roomId);
    return { ...view(room), headSeq: room.headSeq };
  }

  /**
   * Who may read a room (CONTRACT.md "Who may read and join a room"), from the membership
   * projection, which the owning gateway writes in the same transaction as the events: a ban
   * acknowledged to a moderator is in force here for every request after the ack. 404 for no
   * such room; 403 for a banned user, or a private room's non-member who is not invited.
   */
  async authorizeRead(roomId: string, user: Principal): Promise<void> {
    const access = await this.membership.access(roomId, user.id);
    if (!access) throw new DomainError('not_found', 'no such room');
    if (user.role === 'admin') return;
    if (access.status === 'banned') throw new DomainError('forbidden', 'you are banned from this room');
    if (access.visibility === 'private' && access.status !== 'member' && access.status !== 'invited') {
      throw new DomainError('forbidden', 'this room is private');
    }
  }

  async members(roomId: string, user: Principal): Promise<{ members: MemberView[] }> {
    await this.authorizeRead(roomId, user);
    return { members: await this.membership.members(roomId) };
  }

  /** `GET /rooms`: the caller's rooms, most recent activity first, a page after `before`. */
  async mine(user: Principal, query: { limit?: number; before?: string }): Promise<{ rooms: MyRoomView[]; next: string | null }> {
    const limit = query.limit ?? DEFAULT_ROOMS_PAGE;
    const page = await this.membership.roomsOf(user.id, limit + 1, query.before === undefined ? undefined : decodeCursor(query.before));
    const more = page.length > limit;
    if (more) page.length = limit;
    const last = page[page.length - 1];
    // One more statement for the whole page, whatever its size (message-search.int-spec.ts).
    const counts = await this.messages.unreadCounts(user.id, page.map((room) => room.id));
    return {
      rooms: page.map((room) => ({ ...room, unread: counts.get(room.id)?.unread ?? 0, lastReadSeq: counts.get(room.id)?.lastReadSeq ?? 0 })),
      next: more && last ? encodeCursor({ ts: last.lastEvent?.ts ?? new Date(0).toISOString(), id: last.id }) : null,
    };
  }

  /** `resumeRoom`: the room's live owner (or a new one) and a ticket for it. */
  async connect(roomId: string, user: Principal): Promise<ConnectionInfo> {
    await this.authorizeRead(roomId, user);
    await this.require(roomId);
    const placement = await this.scheduler.resumeRoom(roomId);
    const { ticket, expiresAt } = this.tokens.issueTicket(user, roomId, placement.gatewayId);
    return { roomId, gatewayId: placement.gatewayId, url: placement.url, ticket, expiresAt: expiresAt.toISOString() };
  }

  async history(roomId: string, user: Principal, query: HistoryQuery): Promise<{ events: EventEnvelope[]; headSeq: number }> {
    await this.authorizeRead(roomId, user);
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
  return {
    id: room.id,
    name: room.name,
    visibility: room.visibility as RoomVisibility,
    createdAt: room.createdAt.toISOString(),
    createdBy: room.createdBy,
  };
}

/** The opaque `GET /rooms` cursor: base64url of the last room's activity time and id. */
export function encodeCursor(cursor: RoomsCursor): string {
  return Buffer.from(JSON.stringify([cursor.ts, cursor.id]), 'utf8').toString('base64url');
}

/** The form `encodeCursor` writes times in (`Date#toISOString`, years 0001-9999). */
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * A time Postgres takes as `timestamptz`: exactly what `toISOString` gives back for it, so no
 * 30 February, no year 0000 (Postgres has none) and none of the loose forms `Date.parse` allows.
 */
function isCursorTime(ts: string): boolean {
  if (!CURSOR_TIME.test(ts) || ts.startsWith('0000-')) return false;
  const date = new Date(ts);
  return !Number.isNaN(date.getTime()) && date.toISOString() === ts;
}

/**
 * The inverse of `encodeCursor`. Its parts are bound as `timestamptz` and `uuid` parameters, so
 * anything else (a hand-made cursor) is refused here as `invalid` (400), never by Postgres (500).
 */
export function decodeCursor(text: string): RoomsCursor {
  try {
    const parts: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(parts) && parts.length === 2) {
      const [ts, id] = parts as unknown[];
      if (typeof ts === 'string' && isCursorTime(ts) && typeof id === 'string' && isUuid(id)) return { ts, id };
    }
  } catch {
    // fall through
  }
  throw new DomainError('invalid', 'before: not a cursor from a previous page');
}
