import { Injectable } from '@nestjs/common';
import type { Principal } from '../../../../libs/auth/src';
import { MessageSearchRepository, type RoomSearchHit, type SearchHit } from '../../../../libs/persistence/src';
import { RoomsService } from '../rooms/rooms.service';

const DEFAULT_HITS = 20;

/**
 * Search over the message projection (Postgres full-text search, GIN index). The projection is
 * the seam for a dedicated engine: see README "Search".
 */
@Injectable()
export class SearchService {
  constructor(
    private readonly rooms: RoomsService,
    private readonly messages: MessageSearchRepository,
  ) {}

  /** `GET /rooms/:id/search`: the room's read rule first (404, 403 as for its history). */
  async inRoom(roomId: string, user: Principal, query: { q: string; limit?: number; before?: number }): Promise<{ hits: RoomSearchHit[] }> {
    await this.rooms.authorizeRead(roomId, user);
    return { hits: await this.messages.searchRoom(roomId, query.q, query.before, query.limit ?? DEFAULT_HITS) };
  }

  /** `GET /search`: every room the caller may read, decided in the query itself. */
  async everywhere(user: Principal, query: { q: string; limit?: number }): Promise<{ hits: SearchHit[] }> {
    return { hits: await this.messages.searchReadable({ id: user.id, admin: user.role === 'admin' }, query.q, query.limit ?? DEFAULT_HITS) };
  }
}
