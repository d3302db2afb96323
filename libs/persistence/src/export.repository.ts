import type { EventEnvelope } from '../../domain/src';
import { isUuid, type Database } from './database';
import { EVENT_COLUMNS, toEnvelope, type EventRow } from './event-row';

export type ExportStatus = 'queued' | 'running' | 'done' | 'failed';
export type ExportFormat = 'ndjson';

/** One room log export, as recorded in `exports`. */
export interface ExportRecord {
  id: string;
  roomId: string;
  format: ExportFormat;
  status: ExportStatus;
  /** The room's head when the export was requested: the file holds events 1..headSeq. */
  headSeq: number;
  /** Lines written so far (running) or in the file (done). */
  events: number;
  /** Compressed bytes written so far (running) or the object's size (done). */
  bytes: number;
  /** Object key in the bucket. */
  key: string;
  error: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface NewExport {
  id: string;
  roomId: string;
  format: ExportFormat;
  headSeq: number;
  key: string;
}

interface ExportRow {
  id: string;
  room_id: string;
  format: string;
  status: string;
  head_seq: number;
  events: number;
  bytes: string;
  key: string;
  error: string | null;
  created_at: Date;
  finished_at: Date | null;
}


const COLUMNS = 'id, room_id, format, status, head_seq, events, bytes, key, error, created_at, finished_at';
/** Longest error text kept on a failed export; the job's own log has the rest. */
const MAX_ERROR_LENGTH = 1000;

/**
 * Room log exports: their rows, and the keyset-paged read of a room's log the export job streams.
 * Plain `pg` like the event log; every status change is one statement.
 */
export class ExportRepository {
  constructor(private readonly db: Database) {}

  async create(input: NewExport): Promise<ExportRecord> {
    const { rows } = await this.db.pool.query<ExportRow>(
      `INSERT INTO exports (id, room_id, format, status, head_seq, key) VALUES ($1, $2, $3, 'queued', $4, $5) RETURNING ${COLUMNS}`,
      [input.id, input.roomId, input.format, input.headSeq, input.key],
    );
    return toRecord(rows[0]!);
  }

  /** The export, or null when `id` names none (a malformed id names none either). */
  async get(id: string): Promise<ExportRecord | null> {
    if (!isUuid(id)) return null;
    const { rows } = await this.db.pool.query<ExportRow>(`SELECT ${COLUMNS} FROM exports WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /**
   * Starts (or restarts, on a retry) the export: `running` with zeroed counters, since a retry
   * writes the file again from its first line. A `done` export is left alone; the result is the
   * row afterwards (null when it does not exist).
   */
  async markRunning(id: string): Promise<ExportRecord | null> {
    const { rows } = await this.db.pool.query<ExportRow>(
      `UPDATE exports SET status = 'running', events = 0, bytes = 0, error = NULL, finished_at = NULL
        WHERE id = $1 AND status <> 'done' RETURNING ${COLUMNS}`,
      [id],
    );
    return rows[0] ? toRecord(rows[0]) : this.get(id);
  }

  /** Progress of a running export: lines and compressed bytes written so far. */
  async progress(id: string, events: number, bytes: number): Promise<void> {
    await this.db.pool.query(`UPDATE exports SET events = $2, bytes = $3 WHERE id = $1 AND status = 'running'`, [id, events, bytes]);
  }

  async markDone(id: string, events: number, bytes: number): Promise<void> {
    await this.db.pool.query(
      `UPDATE exports SET status = 'done', events = $2, bytes = $3, error = NULL, finished_at = now() WHERE id = $1`,
      [id, events, bytes],
    );
  }

  /**
   * Puts a running export back to `queued` (a retry or another worker will run it), keeping the
   * reason for operators. A finished export is left alone.
   */
  async markRequeued(id: string, reason: string | null): Promise<void> {
    await this.db.pool.query(
      `UPDATE exports SET status = 'queued', events = 0, bytes = 0, error = $2 WHERE id = $1 AND status IN ('queued', 'running')`,
      [id, reason === null ? null : reason.slice(0, MAX_ERROR_LENGTH)],
    );
  }

  /** Gives up on the export (no retries left). A `done` export is left alone. */
  async markFailed(id: string, error: string): Promise<void> {
    await this.db.pool.query(
      `UPDATE exports SET status = 'failed', error = $2, finished_at = now() WHERE id = $1 AND status <> 'done'`,
      [id, error.slice(0, MAX_ERROR_LENGTH)],
    );
  }

  /**
   * One keyset page of the room's log for an export: events with afterSeq < seq <= headSeq,
   * ascending, at most `limit`, as the contract's envelopes (the same shape as
   * EventLogRepository's reads, so export lines equal `GET /rooms/:id/events` envelopes). Each
   * page is one index range scan on the primary key, however deep into the log it starts.
   */
  async readPage(roomId: string, afterSeq: number, headSeq: number, limit: number): Promise<EventEnvelope[]> {
    if (!isUuid(roomId) || afterSeq >= headSeq) return [];
    const { rows } = await this.db.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM room_events WHERE room_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq ASC LIMIT $4`,
      [roomId, afterSeq, headSeq, limit],
    );
    return rows.map(toEnvelope);
  }
}

function toRecord(row: ExportRow): ExportRecord {
  return {
    id: row.id,
    roomId: row.room_id,
    format: row.format as ExportFormat,
    status: row.status as ExportStatus,
    headSeq: row.head_seq,
    events: row.events,
    bytes: Number(row.bytes),
    key: row.key,
    error: row.error,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}
