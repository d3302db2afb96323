import type { Database } from './database';

/** A user's read marker in a room. */
export interface ReadMark {
  userId: string;
  roomId: string;
  seq: number;
}

/**
 * Upserts many markers in one statement; a marker never moves back (GREATEST), so a late or
 * lower mark is harmless. RETURNING gives each marker as stored, which the ack reports. The
 * rows must be distinct per (user, room): ON CONFLICT may not touch one row twice.
 */
const ADVANCE_SQL = `
INSERT INTO read_markers (user_id, room_id, last_read_seq, updated_at)
SELECT u.user_id, u.room_id, u.seq, now() FROM unnest($1::uuid[], $2::uuid[], $3::int[]) AS u(user_id, room_id, seq)
ON CONFLICT (user_id, room_id) DO UPDATE
  SET last_read_seq = GREATEST(read_markers.last_read_seq, EXCLUDED.last_read_seq), updated_at = now()
RETURNING user_id, room_id, last_read_seq`;

/**
 * Read markers (`read_markers`): per user and room, outside the room's log (they are not room
 * history and take no seq). Written by the gateway's ReadMarkerBatcher.
 */
export class ReadMarkerRepository {
  constructor(private readonly db: Database) {}

  /** Advances every marker of `marks` (distinct per user and room); returns them as stored. */
  async advance(marks: readonly ReadMark[]): Promise<ReadMark[]> {
    if (marks.length === 0) return [];
    const { rows } = await this.db.pool.query<{ user_id: string; room_id: string; last_read_seq: number }>(ADVANCE_SQL, [
      marks.map((m) => m.userId),
      marks.map((m) => m.roomId),
      marks.map((m) => m.seq),
    ]);
    return rows.map((r) => ({ userId: r.user_id, roomId: r.room_id, seq: r.last_read_seq }));
  }

  /** The user's marker in the room, 0 when none. */
  async get(userId: string, roomId: string): Promise<number> {
    const { rows } = await this.db.pool.query<{ last_read_seq: number }>('SELECT last_read_seq FROM read_markers WHERE user_id = $1 AND room_id = $2', [userId, roomId]);
    return rows[0]?.last_read_seq ?? 0;
  }
}
