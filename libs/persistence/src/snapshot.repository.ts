import { isUuid, type Database } from './database';

/** One stored snapshot of a room, as recorded in `room_snapshots`. */
export interface SnapshotMeta {
  roomId: string;
  /** The room's head seq the snapshot holds. */
  seq: number;
  /** Epoch of the lease holder that wrote it. */
  epoch: number;
  /** Object key in the snapshot bucket. */
  key: string;
  /** Stored object size in bytes (gzip). */
  bytes: number;
  /** sha256 hex of the serialized state (the document's own checksum). */
  checksum: string;
  createdAt: Date;
}

export type NewSnapshotMeta = Omit<SnapshotMeta, 'createdAt'>;

interface SnapshotRow {
  room_id: string;
  seq: number;
  epoch: number;
  key: string;
  bytes: number;
  checksum: string;
  created_at: Date;
}

const MAX_SEQ = 2_147_483_647;
const COLUMNS = 'room_id, seq, epoch, key, bytes, checksum, created_at';

/**
 * Records a snapshot only while `rooms.epoch` still equals the writer's epoch (DESIGN.md
 * invariant 3, decided by the database in this one statement). `FOR SHARE` makes a concurrent
 * lease grant (`UPDATE rooms SET epoch = epoch + 1`) and this insert serialise: either the insert
 * commits first, or it waits and re-checks the new epoch and inserts nothing.
 *
 * A row already at (room_id, seq) is kept (ON CONFLICT DO NOTHING): the state at a given seq is
 * fully determined by the log, so an earlier row for that seq, from this or an older epoch,
 * already describes the same state. The result is true when the writer still holds the lease
 * and a row for that seq exists afterwards.
 */
const RECORD_SQL = `
WITH current AS (
  SELECT 1 FROM rooms WHERE id = $1 AND epoch = $3 FOR SHARE
), inserted AS (
  INSERT INTO room_snapshots (room_id, seq, epoch, key, bytes, checksum)
  SELECT $1, $2, $3, $4, $5, $6
  WHERE EXISTS (SELECT 1 FROM current)
  ON CONFLICT (room_id, seq) DO NOTHING
  RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM current) AS current,
       EXISTS (SELECT 1 FROM inserted) AS inserted,
       EXISTS (SELECT 1 FROM room_snapshots WHERE room_id = $1 AND seq = $2) AS existed`;

/**
 * Metadata of room state snapshots (the objects themselves live in S3, see libs/storage).
 * Plain `pg`, like the event log: these are small, hot-path statements with fencing in the SQL.
 */
export class SnapshotRepository {
  constructor(private readonly db: Database) {}

  /**
   * Records a stored snapshot if `meta.epoch` is still the room's epoch. True when recorded (or
   * already recorded for that seq) under the current lease; false when fenced (another owner
   * took the room) or the room no longer exists.
   */
  async recordIfCurrent(meta: NewSnapshotMeta): Promise<boolean> {
    if (!isUuid(meta.roomId)) return false;
    const { rows } = await this.db.pool.query<{ current: boolean; inserted: boolean; existed: boolean }>(RECORD_SQL, [
      meta.roomId,
      meta.seq,
      meta.epoch,
      meta.key,
      meta.bytes,
      meta.checksum,
    ]);
    const row = rows[0]!;
    if (!row.current) return false;
    if (row.inserted || row.existed) return true;
    // A concurrent save of the same seq inserted the row after this statement's snapshot was
    // taken (ON CONFLICT waited for it, then did nothing): it is visible to a new statement.
    const again = await this.db.pool.query('SELECT 1 FROM room_snapshots WHERE room_id = $1 AND seq = $2', [meta.roomId, meta.seq]);
    return (again.rowCount ?? 0) > 0;
  }

  /** Up to `limit` snapshots with seq <= maxSeq, newest (highest seq) first. */
  async newest(roomId: string, maxSeq: number, limit: number): Promise<SnapshotMeta[]> {
    if (!isUuid(roomId)) return [];
    const { rows } = await this.db.pool.query<SnapshotRow>(
      `SELECT ${COLUMNS} FROM room_snapshots WHERE room_id = $1 AND seq <= $2 ORDER BY seq DESC LIMIT $3`,
      [roomId, Math.min(maxSeq, MAX_SEQ), limit],
    );
    return rows.map(toMeta);
  }

  /** The room's newest snapshot, or null when it has none. */
  async latest(roomId: string): Promise<SnapshotMeta | null> {
    return (await this.newest(roomId, MAX_SEQ, 1))[0] ?? null;
  }

  /** The room's current lease epoch, or null when the room does not exist. */
  async currentEpoch(roomId: string): Promise<number | null> {
    if (!isUuid(roomId)) return null;
    const { rows } = await this.db.pool.query<{ epoch: number }>('SELECT epoch FROM rooms WHERE id = $1', [roomId]);
    return rows[0]?.epoch ?? null;
  }

  /**
   * Retention: deletes the metadata of all but the room's `keepNewest` newest snapshots and
   * returns their object keys, for the caller to delete from S3 afterwards (a row never points
   * at an object deleted before it). `keepNewest` is a whole number >= 0.
   */
  async deleteOlderThan(roomId: string, keepNewest: number): Promise<string[]> {
    if (!Number.isInteger(keepNewest) || keepNewest < 0) throw new RangeError(`keepNewest must be a whole number >= 0, got ${keepNewest}`);
    if (!isUuid(roomId)) return [];
    const { rows } = await this.db.pool.query<{ key: string }>(
      `DELETE FROM room_snapshots
        WHERE room_id = $1
          AND seq NOT IN (SELECT seq FROM room_snapshots WHERE room_id = $1 ORDER BY seq DESC LIMIT $2)
        RETURNING key`,
      [roomId, keepNewest],
    );
    return rows.map((r) => r.key);
  }
}

function toMeta(row: SnapshotRow): SnapshotMeta {
  return {
    roomId: row.room_id,
    seq: row.seq,
    epoch: row.epoch,
    key: row.key,
    bytes: row.bytes,
    checksum: row.checksum,
    createdAt: row.created_at,
  };
}
