/**
 * Scenario `read-side` (issue 11, acceptance 6): with 200k messages in one room, a search and a
 * `GET /rooms` for a user in 500 rooms, each timed over HTTP at p95. Reported, never asserted.
 *
 * Set-up straight in SQL (as a long-lived deployment's history would be): the big room's log and
 * its message projection (every 100th message says "fox", every message says "lorem"), and 499
 * more rooms of 20 messages each with the user as a member, read markers in half of them. Then
 * VACUUM ANALYZE, as autovacuum would have done by then.
 */
import { performance } from 'node:perf_hooks';
import { distribution, type Figure, round } from './lib';
import type { BenchContext, Scenario } from './scenarios';

const READ_SIDE = { messages: 200_000, rooms: 500, messagesPerSmallRoom: 20, requests: 200, warmup: 20 };

async function timed(ctx: BenchContext, path: string, token: string): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < READ_SIDE.warmup + READ_SIDE.requests; i++) {
    const at = performance.now();
    const res = await ctx.api.request('GET', path, { token });
    const ms = performance.now() - at;
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    if (i >= READ_SIDE.warmup) samples.push(ms);
  }
  return samples;
}

export const readSide: Scenario = {
  id: 'read-side',
  title: 'search and GET /rooms with a 200k-message room, user in 500 rooms',
  params: { ...READ_SIDE, measured: 'HTTP round trip on loopback, sequential requests' },
  async run(ctx) {
    const user = ctx.users[3]!;
    const other = ctx.users[4]!;
    const big = await ctx.api.createRoom(user.token, 'bench read-side big');
    const fillAt = performance.now();
    const db = await ctx.pool.connect();
    try {
      await db.query('BEGIN');
      await db.query(
        `INSERT INTO room_events (room_id, seq, type, actor_id, actor_username, client_msg_id, data, created_at)
         SELECT $1, g, 'message.posted', $2, $3, 'rs-' || g,
                jsonb_build_object('text', 'lorem message ' || g || CASE WHEN g % 100 = 0 THEN ' quick brown fox' ELSE ' ipsum' END),
                now() - make_interval(secs => ($4::int - g) / 10.0)
           FROM generate_series(2, $4::int) AS g`,
        [big.id, other.user.id, other.user.username, READ_SIDE.messages + 1],
      );
      await db.query(
        `INSERT INTO room_messages (room_id, seq, actor_id, actor_username, text, created_at)
         SELECT room_id, seq, actor_id, actor_username, data->>'text', created_at FROM room_events WHERE room_id = $1 AND type = 'message.posted'`,
        [big.id],
      );
      const moved = await db.query('UPDATE rooms SET head_seq = $2 WHERE id = $1 AND head_seq = 1', [big.id, READ_SIDE.messages + 1]);
      if (moved.rowCount !== 1) throw new Error('the big room was not fresh');
      // 499 more rooms with the user as a member; 20 messages by the other user in each.
      const n = READ_SIDE.rooms - 1;
      const per = READ_SIDE.messagesPerSmallRoom;
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO rooms (name, created_by, head_seq, created_at)
         SELECT 'bench read-side ' || $2 || '-' || i, $1, $3::int + 1, now() - interval '1 day' FROM generate_series(1, $4::int) AS i RETURNING id`,
        [other.user.id, ctx.runId, per, n],
      );
      const ids = rows.map((r) => r.id);
      await db.query(
        `INSERT INTO room_events (room_id, seq, type, actor_id, actor_username, data, created_at)
         SELECT r, 1, 'room.created', $2, $3, jsonb_build_object('name', 'bench read-side', 'visibility', 'public'), now() - interval '1 day'
           FROM unnest($1::uuid[]) AS r`,
        [ids, other.user.id, other.user.username],
      );
      await db.query(
        `INSERT INTO room_events (room_id, seq, type, actor_id, actor_username, client_msg_id, data, created_at)
         SELECT r, g, 'message.posted', $2, $3, 'rs-' || g, jsonb_build_object('text', 'small room message ' || g), now() - interval '1 day' + make_interval(secs => g)
           FROM unnest($1::uuid[]) AS r, generate_series(2, $4::int + 1) AS g`,
        [ids, other.user.id, other.user.username, per],
      );
      await db.query(
        `INSERT INTO room_messages (room_id, seq, actor_id, actor_username, text, created_at)
         SELECT room_id, seq, actor_id, actor_username, data->>'text', created_at FROM room_events WHERE room_id = ANY($1::uuid[]) AND type = 'message.posted'`,
        [ids],
      );
      await db.query(
        `INSERT INTO room_members (room_id, user_id, username, status, role)
         SELECT r, $2::uuid, $3::text, 'member', 'member' FROM unnest($1::uuid[]) AS r
         UNION ALL SELECT r, $4::uuid, $5::text, 'member', 'owner' FROM unnest($1::uuid[]) AS r`,
        [ids, user.user.id, user.user.username, other.user.id, other.user.username],
      );
      await db.query(
        `INSERT INTO read_markers (user_id, room_id, last_read_seq) SELECT $2::uuid, r, 10 FROM unnest($1::uuid[]) WITH ORDINALITY AS u(r, i) WHERE i % 2 = 0`,
        [ids, user.user.id],
      );
      await db.query('COMMIT');
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      db.release();
    }
    await ctx.pool.query('VACUUM ANALYZE room_messages');
    await ctx.pool.query('VACUUM ANALYZE read_markers');
    await ctx.pool.query('VACUUM ANALYZE room_members');
    await ctx.pool.query('ANALYZE room_events');
    await ctx.pool.query('ANALYZE rooms');
    const fillMs = performance.now() - fillAt;

    // Sanity: the page of rooms carries the counts the fill implies.
    const page = await ctx.api.request<{ rooms: Array<{ id: string; unread: number }> }>('GET', '/rooms?limit=100', { token: user.token });
    const bigUnread = page.body.rooms.find((r) => r.id === big.id)?.unread;
    if (bigUnread !== READ_SIDE.messages) throw new Error(`unread in the big room: ${bigUnread}, expected ${READ_SIDE.messages}`);

    const rooms = distribution(await timed(ctx, '/rooms?limit=100', user.token));
    const fox = distribution(await timed(ctx, `/rooms/${big.id}/search?q=fox`, user.token));
    const common = distribution(await timed(ctx, `/rooms/${big.id}/search?q=lorem`, user.token));
    const global = distribution(await timed(ctx, '/search?q=quick%20fox', user.token));
    const s = 'read-side';
    const common_ = { messages: READ_SIDE.messages, rooms: READ_SIDE.rooms, fillMs: round(fillMs, 0) };
    const fig = (name: string, d: ReturnType<typeof distribution>, note: string): Figure => ({
      scenario: s,
      name,
      value: d.p95,
      unit: 'ms',
      note: `${note}; p50 ${d.p50}, p99 ${d.p99}, n=${d.n}; target p95 < 50 ms`,
      details: { ...common_, ...d },
    });
    return [
      fig('GET /rooms p95 (500 rooms, page 100)', rooms, 'unread counted per room of the page, the big room 200k unread'),
      fig('room search p95 (q=fox, 1% match)', fox, '2k of 200k messages match, first page of 20'),
      fig('room search p95 (q=lorem, all match)', common, 'every message matches, first page of 20'),
      fig('GET /search p95 (q=quick fox)', global, 'over every readable room'),
    ];
  },
};
