import type { Pool } from 'pg';
import type { TestUser } from './client';

/**
 * Fills a fresh room's log (head 1: only `room.created`) up to `head` with `message.posted`
 * events by `user` (clientMsgIds `bulk-<seq>`), straight in SQL as a long-lived room's history
 * would be, and moves the head in the same transaction. For resume and export measurements.
 */
export async function fillRoomLog(pool: Pool, roomId: string, user: TestUser, head: number): Promise<void> {
  const db = await pool.connect();
  try {
    await db.query('BEGIN');
    await db.query(
      `INSERT INTO room_events (room_id, seq, type, actor_id, actor_username, client_msg_id, data, created_at)
       SELECT $1, g, 'message.posted', $2, $3, 'bulk-' || g, jsonb_build_object('text', 'bulk message ' || g), now()
         FROM generate_series(2, $4::int) AS g`,
      [roomId, user.user.id, user.user.username, head],
    );
    const updated = await db.query('UPDATE rooms SET head_seq = $2 WHERE id = $1 AND head_seq = 1', [roomId, head]);
    if (updated.rowCount !== 1) throw new Error(`room ${roomId} was not fresh`);
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
}
