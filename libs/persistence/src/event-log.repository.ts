import type { EventEnvelope, EventType, MembershipRow, MessageInfo } from '../../domain/src';
import { inTransaction, isUuid, type Database } from './database';
import { EVENT_COLUMNS, toEnvelope, type EventRow } from './event-row';
import { writeMembershipChanges, type MembershipChange } from './membership-projection';

/** One event to append: its seq is already assigned by the room's owner. */
export interface NewEvent {
  seq: number;
  type: EventType;
  actorId: string | null;
  actorUsername: string | null;
  clientMsgId: string | null;
  data: unknown;
  /** ISO-8601 UTC, millisecond precision: what the ack and the envelope carry. */
  ts: string;
  /**
   * For a `member.*` event: the user's membership row after it (null: no row), as the room's
   * fold decides it. Written to the `room_members` projection in the same transaction.
   */
  membership?: { userId: string; row: MembershipRow | null };
}

/** A room's share of a group commit: consecutive events continuing its head, under `epoch`. */
export interface RoomAppend {
  roomId: string;
  epoch: number;
  events: NewEvent[];
}

export type AppendOutcome = 'committed' | 'fenced';


/**
 * The one statement of a group commit. For every room in the batch it advances `rooms.head_seq`
 * only if the room still has the writer's epoch and the batch continues the head exactly, and
 * inserts that room's events only if it did. Fencing and gap-freedom are thereby decided by the
 * database inside the statement, not by the gateway (a batch must also span exactly as many seqs
 * as it has events, so with the primary key it cannot skip one); the primary key (room_id, seq) and the
 * unique (room_id, actor_id, client_msg_id) index are the last line.
 *
 * `room_events` is hash-partitioned on room_id. The INSERT only routes each row to its room's
 * partition and scans none; `e.room_id IN (SELECT id FROM advanced)` filters the unnest rows,
 * not the log, so one statement may span many rooms without reading any partition.
 *
 * The message projection (`room_messages`, search and unread counts) is written by the same
 * statement from the same filtered rows (`ev`), so it is under the same fence for free: a fenced
 * room contributes no `ev` rows and writes nothing, and no extra round trip is paid. Sibling
 * CTEs all see the snapshot from before the statement, so a batch's own effects on a message are
 * folded here rather than applied in turn: a message posted in the batch is inserted with its
 * last edit in the batch (or not at all if the batch deletes it); an edit updates a row written
 * by an earlier batch only when the batch does not also delete it (one row is never modified
 * twice by one statement); a delete removes an earlier batch's row. The projection reads the
 * event data defensively (a missing text is '', a non-numeric replyTo is null): the log's
 * validation is the gateway's, and a projection must never be what refuses a batch.
 */
const APPEND_SQL = `
WITH batch AS (
  SELECT * FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $13::int[]) AS b(room_id, first_seq, last_seq, epoch, n)
), advanced AS (
  UPDATE rooms r SET head_seq = b.last_seq
  FROM batch b
  WHERE r.id = b.room_id AND r.epoch = b.epoch AND r.head_seq = b.first_seq - 1
    AND b.last_seq - b.first_seq + 1 = b.n
  RETURNING r.id
), ev AS (
  SELECT * FROM unnest($5::uuid[], $6::int[], $7::text[], $8::uuid[], $9::text[], $10::text[], $11::jsonb[], $12::timestamptz[])
       AS e(room_id, seq, type, actor_id, actor_username, client_msg_id, data, created_at)
  WHERE e.room_id IN (SELECT id FROM advanced)
), inserted AS (
  INSERT INTO room_events (room_id, seq, type, actor_id, actor_username, client_msg_id, data, created_at)
  SELECT room_id, seq, type, actor_id, actor_username, client_msg_id, data, created_at FROM ev
  RETURNING 1
), msg_deleted AS (
  SELECT DISTINCT room_id, (data->>'seq')::int AS target FROM ev WHERE type = 'message.deleted'
), msg_edited AS (
  SELECT DISTINCT ON (room_id, (data->>'seq')::int) room_id, (data->>'seq')::int AS target, data->>'text' AS text
  FROM ev WHERE type = 'message.edited'
  ORDER BY room_id, (data->>'seq')::int, seq DESC
), msg_posted AS (
  INSERT INTO room_messages (room_id, seq, actor_id, actor_username, text, reply_to, created_at)
  SELECT p.room_id, p.seq, p.actor_id, p.actor_username, COALESCE(x.text, p.data->>'text', ''),
         CASE WHEN jsonb_typeof(p.data->'replyTo') = 'number' THEN (p.data->>'replyTo')::int END, p.created_at
  FROM ev p LEFT JOIN msg_edited x ON x.room_id = p.room_id AND x.target = p.seq
  WHERE p.type = 'message.posted'
    AND NOT EXISTS (SELECT 1 FROM msg_deleted d WHERE d.room_id = p.room_id AND d.target = p.seq)
  RETURNING 1
), msg_updated AS (
  UPDATE room_messages m SET text = COALESCE(x.text, m.text)
  FROM msg_edited x
  WHERE m.room_id = x.room_id AND m.seq = x.target
    AND NOT EXISTS (SELECT 1 FROM msg_deleted d WHERE d.room_id = x.room_id AND d.target = x.target)
  RETURNING 1
), msg_removed AS (
  DELETE FROM room_messages m USING msg_deleted d WHERE m.room_id = d.room_id AND m.seq = d.target
  RETURNING 1
)
SELECT id AS room_id FROM advanced`;

/** See `EventLogRepository.findMessage`; exported for the plan test. */
export const FIND_MESSAGE_SQL = `
SELECT p.actor_id, NOT EXISTS (SELECT 1 FROM room_messages m WHERE m.room_id = $1 AND m.seq = $2) AS deleted
  FROM room_events p WHERE p.room_id = $1 AND p.seq = $2 AND p.type = 'message.posted'`;

/** The prepared statement's name on every connection of the log pool (unique per SQL text). */
const APPEND_STATEMENT = 'room_events_append_v2';

function appendQuery(values: unknown[]): { name: string; text: string; values: unknown[] } {
  return { name: APPEND_STATEMENT, text: APPEND_SQL, values };
}


/** The membership rows a batch changes, in seq order per room. */
function membershipChangesOf(appends: readonly RoomAppend[]): Array<MembershipChange & { roomId: string }> {
  const changes: Array<MembershipChange & { roomId: string }> = [];
  for (const append of appends) {
    for (const event of append.events) {
      if (event.membership) changes.push({ roomId: append.roomId, ...event.membership });
    }
  }
  return changes;
}

/**
 * The room event log. Every read names exactly one room as `room_id = $1`, the form the planner
 * prunes the hash-partitioned table on, so it reads one partition (partitioning.int-spec.ts).
 */
export class EventLogRepository {
  constructor(private readonly db: Database) {}

  /**
   * Appends several rooms' events in one round trip. Returns, per room id, whether its events
   * were committed or refused because the room's epoch or head moved (another owner took it).
   * Throws on a database error (nothing of the batch is committed then, or, if the connection
   * broke during COMMIT, the outcome is unknown and the caller must re-read the head).
   */
  async appendBatch(appends: readonly RoomAppend[]): Promise<Map<string, AppendOutcome>> {
    const roomIds: string[] = [];
    const firstSeqs: number[] = [];
    const lastSeqs: number[] = [];
    const epochs: number[] = [];
    const counts: number[] = [];
    const eRoom: string[] = [];
    const eSeq: number[] = [];
    const eType: string[] = [];
    const eActor: (string | null)[] = [];
    const eActorName: (string | null)[] = [];
    const eClientMsgId: (string | null)[] = [];
    const eData: string[] = [];
    const eTs: string[] = [];
    for (const append of appends) {
      const events = append.events;
      roomIds.push(append.roomId);
      firstSeqs.push(events[0]!.seq);
      lastSeqs.push(events[events.length - 1]!.seq);
      epochs.push(append.epoch);
      counts.push(events.length);
      for (const event of events) {
        eRoom.push(append.roomId);
        eSeq.push(event.seq);
        eType.push(event.type);
        eActor.push(event.actorId);
        eActorName.push(event.actorUsername);
        eClientMsgId.push(event.clientMsgId);
        eData.push(JSON.stringify(event.data));
        eTs.push(event.ts);
      }
    }
    // Sent as a named statement: each pooled connection parses and plans APPEND_SQL once instead
    // of per group commit (about 0.16 ms of planning a batch, EXPLAIN ANALYZE in BENCHMARKS.md).
    const params = [
      roomIds,
      firstSeqs,
      lastSeqs,
      epochs,
      eRoom,
      eSeq,
      eType,
      eActor,
      eActorName,
      eClientMsgId,
      eData,
      eTs,
      counts,
    ];
    const changes = membershipChangesOf(appends);
    const rows = changes.length === 0 ? (await this.db.pool.query<{ room_id: string }>(appendQuery(params))).rows : await this.appendWithProjection(params, changes);
    const outcome = new Map<string, AppendOutcome>();
    for (const id of roomIds) outcome.set(id, 'fenced');
    for (const row of rows) outcome.set(row.room_id, 'committed');
    return outcome;
  }

  /**
   * A batch that changes membership: the append statement, then the projection step, in one
   * transaction. The append's `UPDATE rooms` holds the row lock of every room it advanced until
   * COMMIT, so no lease can be taken in between: the projection is written under the same epoch
   * fence, and only for the rooms the statement advanced (a fenced room writes nothing). A batch
   * without membership events (nearly all of them) stays one autocommit statement.
   */
  private async appendWithProjection(params: unknown[], changes: Array<MembershipChange & { roomId: string }>): Promise<Array<{ room_id: string }>> {
    return inTransaction(this.db.pool, async (client) => {
      const { rows } = await client.query<{ room_id: string }>(appendQuery(params));
      const advanced = new Set(rows.map((r) => r.room_id));
      await writeMembershipChanges(client, changes.filter((c) => advanced.has(c.roomId)));
      return rows;
    });
  }

  /** Events with seq > afterSeq, ascending, at most `limit`. */
  async readAfter(roomId: string, afterSeq: number, limit: number): Promise<EventEnvelope[]> {
    const { rows } = await this.db.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM room_events WHERE room_id = $1 AND seq > $2 ORDER BY seq ASC LIMIT $3`,
      [roomId, afterSeq, limit],
    );
    return rows.map(toEnvelope);
  }

  /** Events with seq < beforeSeq (or the latest when undefined), returned ascending, at most `limit`. */
  async readBefore(roomId: string, beforeSeq: number | undefined, limit: number): Promise<EventEnvelope[]> {
    const { rows } = await this.db.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM room_events WHERE room_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
      [roomId, beforeSeq ?? 2_147_483_647, limit],
    );
    return rows.reverse().map(toEnvelope);
  }

  /**
   * Author and deletion state of the message posted at `seq`, for edits, deletes, replies and
   * reactions older than memory holds. Two primary-key lookups, whatever the room's length: the
   * post in the log, and its row in the message projection, which the statement that commits a
   * `message.deleted` removes (DESIGN invariant 11), so a post without a row is deleted. (Looking
   * for the deletion in the log instead scans every later event of the room, inside the room's
   * command chain.)
   */
  async findMessage(roomId: string, seq: number): Promise<MessageInfo | null> {
    if (!isUuid(roomId)) return null;
    const { rows } = await this.db.pool.query<{ actor_id: string | null; deleted: boolean }>(FIND_MESSAGE_SQL, [roomId, seq]);
    const row = rows[0];
    return row ? { authorId: row.actor_id, deleted: row.deleted } : null;
  }

  /** The committed results of earlier sends, by client message id, for dedup beyond memory. */
  async findSent(roomId: string, actorId: string, clientMsgIds: string[]): Promise<Map<string, { seq: number; ts: string }>> {
    const { rows } = await this.db.pool.query<{ client_msg_id: string; seq: number; created_at: Date }>(
      'SELECT client_msg_id, seq, created_at FROM room_events WHERE room_id = $1 AND actor_id = $2 AND client_msg_id = ANY($3::text[])',
      [roomId, actorId, clientMsgIds],
    );
    return new Map(rows.map((r) => [r.client_msg_id, { seq: r.seq, ts: r.created_at.toISOString() }]));
  }
}
