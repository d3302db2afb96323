import { isUuid, type Database } from './database';

/** One hit of `GET /rooms/:id/search`. */
export interface RoomSearchHit {
  seq: number;
  ts: string;
  actor: { id: string; username: string } | null;
  text: string;
  replyTo?: number;
}

/** One hit of `GET /search`. */
export interface SearchHit {
  roomId: string;
  roomName: string;
  seq: number;
  ts: string;
  actor: { id: string; username: string } | null;
  text: string;
}

/** A user's read marker and unread count in one room. */
export interface UnreadCount {
  lastReadSeq: number;
  unread: number;
}

interface MessageRow {
  room_id: string;
  room_name?: string;
  seq: number;
  actor_id: string | null;
  actor_username: string | null;
  text: string;
  reply_to: number | null;
  created_at: Date;
}

/**
 * The `simple` configuration (no stemming, no stop words), as the generated `search` column is
 * built with; `plainto_tsquery` ANDs the query's words, so a hit matches `q` word by word, and
 * it never fails on user input (operators are just punctuation to it).
 */
const QUERY = `plainto_tsquery('simple', $2)`;

function actorOf(row: MessageRow): RoomSearchHit['actor'] {
  return row.actor_id ? { id: row.actor_id, username: row.actor_username ?? '' } : null;
}

/**
 * Reads of the message projection (`room_messages`: each message's current text, deleted ones
 * removed), which the owning gateway writes in the same statement as the events
 * (EventLogRepository APPEND_SQL). Search and unread counts read it; nothing here writes it.
 */
export class MessageSearchRepository {
  constructor(private readonly db: Database) {}

  /** Messages of one room whose current text matches `q`, newest first, seq < `before`. */
  async searchRoom(roomId: string, q: string, before: number | undefined, limit: number): Promise<RoomSearchHit[]> {
    if (!isUuid(roomId)) return [];
    const { rows } = await this.db.pool.query<MessageRow>(
      `SELECT room_id, seq, actor_id, actor_username, text, reply_to, created_at FROM room_messages
        WHERE room_id = $1 AND search @@ ${QUERY} AND seq < $3
        ORDER BY seq DESC LIMIT $4`,
      [roomId, q, before ?? 2_147_483_647, limit],
    );
    return rows.map((r) => {
      const hit: RoomSearchHit = { seq: r.seq, ts: r.created_at.toISOString(), actor: actorOf(r), text: r.text };
      if (r.reply_to !== null) hit.replyTo = r.reply_to;
      return hit;
    });
  }

  /**
   * Matches over every room `userId` may read (CONTRACT.md "Who may read and join a room"):
   * public rooms unless banned, private rooms where they are a member or invited; an admin reads
   * every room. Decided by the membership projection in the same statement, so a ban is in force
   * for the next search after its ack. Newest first across rooms.
   */
  async searchReadable(user: { id: string; admin: boolean }, q: string, limit: number): Promise<SearchHit[]> {
    const { rows } = await this.db.pool.query<MessageRow>(
      `SELECT m.room_id, r.name AS room_name, m.seq, m.actor_id, m.actor_username, m.text, m.reply_to, m.created_at
         FROM room_messages m
         JOIN rooms r ON r.id = m.room_id
         LEFT JOIN room_members rm ON rm.room_id = m.room_id AND rm.user_id = $1
        WHERE m.search @@ ${QUERY}
          AND ($3::boolean OR CASE
                WHEN rm.status = 'banned' THEN false
                WHEN r.visibility = 'public' THEN true
                ELSE rm.status IN ('member', 'invited')
              END)
        ORDER BY m.created_at DESC, m.room_id DESC, m.seq DESC
        LIMIT $4`,
      [user.id, q, user.admin, limit],
    );
    return rows.map((r) => ({ roomId: r.room_id, roomName: r.room_name ?? '', seq: r.seq, ts: r.created_at.toISOString(), actor: actorOf(r), text: r.text }));
  }

  /**
   * The user's read marker and unread count in each of `roomIds`, in one statement whatever
   * their number: per room, an index-only range scan of the projection's primary key
   * (room_id, seq) INCLUDE (actor_id) after the marker. Others' messages only; a deleted message
   * has no row, so it never counts.
   */
  async unreadCounts(userId: string, roomIds: readonly string[]): Promise<Map<string, UnreadCount>> {
    const counts = new Map<string, UnreadCount>();
    if (roomIds.length === 0) return counts;
    const { rows } = await this.db.pool.query<{ room_id: string; last_read_seq: number; unread: number }>(UNREAD_SQL, [userId, roomIds]);
    for (const r of rows) counts.set(r.room_id, { lastReadSeq: r.last_read_seq, unread: r.unread });
    return counts;
  }
}

/** Exported for the plan-shape test (message-search.int-spec.ts). */
export const UNREAD_SQL = `
SELECT u.room_id, COALESCE(k.last_read_seq, 0) AS last_read_seq,
       (SELECT count(*) FROM room_messages m
         WHERE m.room_id = u.room_id AND m.seq > COALESCE(k.last_read_seq, 0)
           AND m.actor_id IS DISTINCT FROM $1::uuid)::int AS unread
  FROM unnest($2::uuid[]) AS u(room_id)
  LEFT JOIN read_markers k ON k.user_id = $1::uuid AND k.room_id = u.room_id`;
