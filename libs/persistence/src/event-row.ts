import type { EventEnvelope, EventType } from '../../domain/src';

/** A `room_events` row as the pg driver returns it. */
export interface EventRow {
  room_id: string;
  seq: number;
  type: string;
  actor_id: string | null;
  actor_username: string | null;
  client_msg_id: string | null;
  data: unknown;
  created_at: Date;
}

/** The columns every read of the log selects, in the order `EventRow` names them. */
export const EVENT_COLUMNS = 'room_id, seq, type, actor_id, actor_username, client_msg_id, data, created_at';

/**
 * The contract's envelope (CONTRACT.md "Event envelope") from a row. The one mapping for every
 * read (history, join, replay, export), so an export line is byte-for-byte the JSON of the
 * envelope `GET /rooms/:id/events` returns: same keys, same order, clientMsgId only when set.
 */
export function toEnvelope(row: EventRow): EventEnvelope {
  const envelope: EventEnvelope = {
    roomId: row.room_id,
    seq: row.seq,
    type: row.type as EventType,
    ts: row.created_at.toISOString(),
    actor: row.actor_id ? { id: row.actor_id, username: row.actor_username ?? '' } : null,
    data: row.data as EventEnvelope['data'],
  };
  if (row.client_msg_id !== null) envelope.clientMsgId = row.client_msg_id;
  return envelope;
}
