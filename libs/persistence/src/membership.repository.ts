import {
  applyEvent,
  emptyRoomState,
  membershipRows,
  type EventEnvelope,
  type MemberRole,
  type MembershipRow,
  type RoomVisibility,
} from '../../domain/src';
import { inTransaction, isUuid, type Database } from './database';
import { EVENT_COLUMNS, toEnvelope, type EventRow } from './event-row';
import { writeMembershipChanges } from './membership-projection';

/** A room as the access check needs it, with the caller's row of the projection. */
export interface RoomAccess {
  visibility: RoomVisibility;
  status: MembershipRow['status'] | null;
  role: MemberRole | null;
}

export interface MemberView {
  id: string;
  username: string;
  role: MemberRole;
  /** ISO-8601 UTC while a mute is in force, else null. */
  mutedUntil: string | null;
}

/** One of the caller's rooms for `GET /rooms`. */
export interface MyRoom {
  id: string;
  name: string;
  visibility: RoomVisibility;
  role: MemberRole;
  headSeq: number;
  lastEvent: EventEnvelope | null;
}

/** Where a `GET /rooms` page ended: the last room's activity time and id. */
export interface RoomsCursor {
  ts: string;
  id: string;
}

const REBUILD_PAGE = 5_000;
const ROLE_ORDER = `CASE role WHEN 'owner' THEN 0 WHEN 'moderator' THEN 1 ELSE 2 END`;

/**
 * Reads of the membership projection (`room_members`) for the API, and its rebuild from the log.
 * The gateway writes it with the events (EventLogRepository.appendBatch); nothing else writes it
 * except `rebuild` and the room's creation.
 */
export class MembershipRepository {
  constructor(private readonly db: Database) {}

  /** The room's visibility and the user's row; null when the room does not exist. */
  async access(roomId: string, userId: string): Promise<RoomAccess | null> {
    if (!isUuid(roomId)) return null;
    const { rows } = await this.db.pool.query<{ visibility: RoomVisibility; status: MembershipRow['status'] | null; role: MemberRole | null }>(
      `SELECT r.visibility, m.status, m.role
         FROM rooms r LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = $2
        WHERE r.id = $1`,
      [roomId, userId],
    );
    return rows[0] ?? null;
  }

  /** The room's members, owner first, then moderators, then members, by username. */
  async members(roomId: string, now: Date = new Date()): Promise<MemberView[]> {
    const { rows } = await this.db.pool.query<{ user_id: string; username: string | null; role: MemberRole; muted_until: Date | null }>(
      `SELECT user_id, username, role, muted_until FROM room_members
        WHERE room_id = $1 AND status = 'member' ORDER BY ${ROLE_ORDER}, username, user_id`,
      [roomId],
    );
    return rows.map((r) => ({
      id: r.user_id,
      username: r.username ?? '',
      role: r.role,
      mutedUntil: r.muted_until && r.muted_until.getTime() > now.getTime() ? r.muted_until.toISOString() : null,
    }));
  }

  /**
   * The rooms `userId` is a member of, most recent activity (the time of the room's head event)
   * first, ties by id; `before`: the cursor of the previous page's last room. Each page ranks all
   * of the user's rooms (one index probe of the log each), which is fine for the hundreds of rooms
   * a person is in.
   */
  async roomsOf(userId: string, limit: number, before: RoomsCursor | undefined): Promise<MyRoom[]> {
    const { rows } = await this.db.pool.query<
      { id: string; name: string; visibility: RoomVisibility; role: MemberRole; head_seq: number; activity: Date } & Partial<EventRow>
    >(
      `SELECT r.id, r.name, r.visibility, m.role, r.head_seq, COALESCE(e.created_at, r.created_at) AS activity,
              e.room_id, e.seq, e.type, e.actor_id, e.actor_username, e.client_msg_id, e.data, e.created_at
         FROM room_members m
         JOIN rooms r ON r.id = m.room_id
         LEFT JOIN LATERAL (SELECT ${EVENT_COLUMNS} FROM room_events ev WHERE ev.room_id = r.id AND ev.seq = r.head_seq) e ON true
        WHERE m.user_id = $1 AND m.status = 'member'
          AND ($2::timestamptz IS NULL OR (COALESCE(e.created_at, r.created_at), r.id) < ($2::timestamptz, $3::uuid))
        ORDER BY activity DESC, r.id DESC
        LIMIT $4`,
      [userId, before?.ts ?? null, before?.id ?? '00000000-0000-0000-0000-000000000000', limit],
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      visibility: r.visibility,
      role: r.role,
      headSeq: r.head_seq,
      lastEvent: r.seq ? toEnvelope(r as EventRow) : null,
    }));
  }

  /** The activity time `roomsOf` sorted a room by, for the next page's cursor. */
  static cursorOf(room: MyRoom, createdAt?: Date): RoomsCursor {
    return { ts: room.lastEvent?.ts ?? createdAt?.toISOString() ?? new Date(0).toISOString(), id: room.id };
  }

  /** Every row of the room's projection, by user id (for comparisons with a rebuild). */
  async rowsOf(roomId: string): Promise<MembershipRow[]> {
    const { rows } = await this.db.pool.query<{ user_id: string; username: string | null; status: MembershipRow['status']; role: MemberRole | null; muted_until: Date | null }>(
      'SELECT user_id, username, status, role, muted_until FROM room_members WHERE room_id = $1 ORDER BY user_id',
      [roomId],
    );
    return rows.map((r) => ({ userId: r.user_id, username: r.username, status: r.status, role: r.role, mutedUntil: r.muted_until?.toISOString() ?? null }));
  }

  /**
   * Rebuilds the room's projection from its log: folds every event and replaces the room's rows,
   * in one transaction that first locks the room's row. An append takes the same lock, so no
   * event commits while the log is read and the result is the projection at the head. Returns
   * the rows written, or null when the room does not exist.
   */
  async rebuild(roomId: string): Promise<{ headSeq: number; rows: MembershipRow[] } | null> {
    if (!isUuid(roomId)) return null;
    return inTransaction(this.db.pool, async (client) => {
      const head = await client.query<{ head_seq: number }>('SELECT head_seq FROM rooms WHERE id = $1 FOR UPDATE', [roomId]);
      if (!head.rows[0]) return null;
      const headSeq = head.rows[0].head_seq;
      const state = emptyRoomState(roomId);
      while (state.headSeq < headSeq) {
        const page = await client.query<EventRow>(
          `SELECT ${EVENT_COLUMNS} FROM room_events WHERE room_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq ASC LIMIT $4`,
          [roomId, state.headSeq, headSeq, REBUILD_PAGE],
        );
        if (page.rows.length === 0) throw new Error(`room ${roomId}: the log ends at ${state.headSeq}, head says ${headSeq}`);
        for (const row of page.rows) applyEvent(state, toEnvelope(row));
      }
      const rows = membershipRows(state);
      await client.query('DELETE FROM room_members WHERE room_id = $1', [roomId]);
      await writeMembershipChanges(client, rows.map((row) => ({ roomId, userId: row.userId, row })));
      return { headSeq, rows };
    });
  }

  /** Room ids in id order after `afterId`, a page at a time (rebuild of all rooms). */
  async roomIds(afterId: string | null, limit: number): Promise<string[]> {
    const { rows } = await this.db.pool.query<{ id: string }>(
      'SELECT id FROM rooms WHERE ($1::uuid IS NULL OR id > $1::uuid) ORDER BY id LIMIT $2',
      [afterId, limit],
    );
    return rows.map((r) => r.id);
  }
}
