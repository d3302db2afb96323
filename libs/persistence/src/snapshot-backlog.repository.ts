import type { Database } from './database';

/** A room whose log has grown by at least the asked number of events since its newest snapshot. */
export interface SnapshotBacklog {
  roomId: string;
  headSeq: number;
  /** Seq of the newest snapshot, 0 when the room has none. */
  snapshotSeq: number;
}

/**
 * Finds rooms whose next resume would replay a long tail (worker's cold-room snapshot sweep).
 * Whether a live gateway holds them is Redis' business, decided by the caller.
 */
export class SnapshotBacklogRepository {
  constructor(private readonly db: Database) {}

  /**
   * Up to `limit` rooms with `head_seq - newest snapshot seq >= minTail`, longest tail first.
   * `minTail` >= 1 (rooms are never empty: seq 1 is room.created).
   */
  async roomsWithTail(minTail: number, limit: number): Promise<SnapshotBacklog[]> {
    const { rows } = await this.db.pool.query<{ id: string; head_seq: number; snapshot_seq: number }>(
      `SELECT r.id, r.head_seq, COALESCE(s.seq, 0) AS snapshot_seq
         FROM rooms r
         LEFT JOIN LATERAL (SELECT seq FROM room_snapshots WHERE room_id = r.id ORDER BY seq DESC LIMIT 1) s ON true
        WHERE r.head_seq - COALESCE(s.seq, 0) >= $1
        ORDER BY r.head_seq - COALESCE(s.seq, 0) DESC
        LIMIT $2`,
      [Math.max(1, minTail), limit],
    );
    return rows.map((r) => ({ roomId: r.id, headSeq: r.head_seq, snapshotSeq: r.snapshot_seq }));
  }
}
