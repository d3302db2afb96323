import type { PoolClient } from 'pg';
import type { MembershipRow } from '../../domain/src';

/** One user's membership row after an event (null: the room holds nothing on them any more). */
export interface MembershipChange {
  userId: string;
  row: MembershipRow | null;
}

const UPSERT_SQL = `
INSERT INTO room_members (room_id, user_id, username, status, role, muted_until)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
ON CONFLICT (room_id, user_id) DO UPDATE
  SET username = EXCLUDED.username, status = EXCLUDED.status, role = EXCLUDED.role, muted_until = EXCLUDED.muted_until`;

const DELETE_SQL = `
DELETE FROM room_members m
USING unnest($1::uuid[], $2::uuid[]) AS d(room_id, user_id)
WHERE m.room_id = d.room_id AND m.user_id = d.user_id`;

/**
 * The projection step of a group commit (DESIGN.md invariant 11): applies the rows the room's
 * fold gave each changed user, inside the caller's transaction. `changes` is in seq order per
 * room; only the last change of each (room, user) counts, since it is the row after all of them.
 * At most two statements, whatever the batch size.
 */
export async function writeMembershipChanges(client: PoolClient, changes: Array<MembershipChange & { roomId: string }>): Promise<void> {
  const last = new Map<string, MembershipChange & { roomId: string }>();
  for (const change of changes) last.set(`${change.roomId}/${change.userId}`, change);
  const up = { room: [] as string[], user: [] as string[], name: [] as (string | null)[], status: [] as string[], role: [] as (string | null)[], muted: [] as (string | null)[] };
  const del = { room: [] as string[], user: [] as string[] };
  for (const { roomId, userId, row } of last.values()) {
    if (row) {
      up.room.push(roomId);
      up.user.push(userId);
      up.name.push(row.username);
      up.status.push(row.status);
      up.role.push(row.role);
      up.muted.push(row.mutedUntil);
    } else {
      del.room.push(roomId);
      del.user.push(userId);
    }
  }
  if (up.room.length > 0) await client.query(UPSERT_SQL, [up.room, up.user, up.name, up.status, up.role, up.muted]);
  if (del.room.length > 0) await client.query(DELETE_SQL, [del.room, del.user]);
}
