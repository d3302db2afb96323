/**
 * A fleet of rooms over N gateways, as users make it, for the rolling-restart simulation (the
 * fleet bench and test/fleet.e2e-spec.ts): every room has one connected member (a
 * ResilientClient, so it follows the README's reconnect recipe on `room:moved`), some of them
 * keep sending, and each gateway in turn is drained by SIGTERM and started again with the same
 * id. The log is then checked in one SQL query: every acknowledged message exactly once, at the
 * seq it was acknowledged with.
 */
import type { Pool } from 'pg';
import type { ApiClient, TestUser } from './client';
import { waitFor } from './processes';
import { ResilientClient } from './resilient-client';
import type { TestStack } from './stack';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface FleetRoom {
  roomId: string;
  /** The room's one connected member (its creator). */
  member: ResilientClient;
  /** Whether the member keeps sending while the fleet is restarted. */
  sender: boolean;
}

/** A gateway's line in `GET /admin/gateways`. */
export interface GatewayCount {
  id: string;
  status: string;
  rooms: number;
  connections: number;
}

/** Runs `fn` over `items` with at most `limit` at a time; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!, i);
      }
    }),
  );
  return results;
}

/**
 * Creates `count` rooms, each by one of `users` (round robin), and connects its creator to it
 * (`POST /rooms/:id/connection`, ticket, `room:join`), `concurrency` rooms at a time, so every
 * room is placed and loaded on a gateway. The first `senders` rooms are marked as senders.
 */
export async function populateRooms(
  api: ApiClient,
  users: readonly TestUser[],
  o: { count: number; senders: number; concurrency: number; name: string; offset?: number },
): Promise<FleetRoom[]> {
  const offset = o.offset ?? 0;
  return mapLimit(
    Array.from({ length: o.count }, (_, i) => i),
    o.concurrency,
    async (i) => {
      const user = users[(offset + i) % users.length]!;
      const room = await api.createRoom(user.token, `${o.name} room ${offset + i}`);
      // Generous bounds: thousands of joins at once on 2 cores can be slow, never lost.
      const member = new ResilientClient(api, user, room.id, { name: `${o.name}-${offset + i}`, ackTimeoutMs: 10_000, connectTimeoutMs: 10_000, recoveryTimeoutMs: 60_000 });
      await member.connect();
      return { roomId: room.id, member, sender: i < o.senders };
    },
  );
}

export interface Traffic {
  /** Stops sending, waits for every send in flight to be acknowledged; resolves with the failures. */
  stop(): Promise<string[]>;
  /** Acks so far. */
  acked(): number;
}

/**
 * Every sender room's member sends messages `<prefix>-<room index>-<n>` one after another, with
 * `pauseMs` between an ack and the next send, until stopped. A send that fails for good (the
 * client gave up reconnecting) is recorded and ends that sender.
 */
export function startTraffic(rooms: readonly FleetRoom[], o: { prefix: string; pauseMs: number }): Traffic {
  let stopping = false;
  let acked = 0;
  const failures: string[] = [];
  const loops = rooms.map(async (room, i) => {
    if (!room.sender) return;
    for (let n = 0; !stopping; n++) {
      try {
        await room.member.send(`${o.prefix}-${i}-${n}`, `fleet message ${n} in room ${i}`);
        acked++;
      } catch (err) {
        failures.push(`${room.member.name}: ${(err as Error).message}`);
        return;
      }
      await sleep(o.pauseMs);
    }
  });
  return {
    acked: () => acked,
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
      return failures;
    },
  };
}

/** Per-gateway rooms and sockets from the admin directory, sorted by id. */
export async function gatewayCounts(api: ApiClient, admin: TestUser): Promise<GatewayCount[]> {
  const res = await api.request<{ gateways: GatewayCount[] }>('GET', '/admin/gateways', { token: admin.token });
  if (res.status !== 200) throw new Error(`GET /admin/gateways: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.gateways
    .map(({ id, status, rooms, connections }) => ({ id, status, rooms, connections }))
    .sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
}

/**
 * Waits until the directory shows every gateway of the stack active and, summed over them,
 * `rooms` rooms loaded (heartbeats lag by up to a second); resolves with those counts.
 */
export function settledCounts(api: ApiClient, admin: TestUser, stack: TestStack, rooms: number, timeoutMs = 60_000): Promise<GatewayCount[]> {
  const ids = new Set(stack.gateways.map((g) => g.id));
  return waitFor(
    `every gateway active holding ${rooms} rooms in all`,
    async () => {
      const counts = (await gatewayCounts(api, admin)).filter((c) => ids.has(c.id));
      const live = counts.every((c) => c.status === 'active') && counts.length === ids.size;
      return live && counts.reduce((sum, c) => sum + c.rooms, 0) === rooms ? counts : undefined;
    },
    timeoutMs,
    250,
  );
}

/** What the gateway's drain logged: `drained: N room(s) handed over, per room median X ms, max Y ms`. */
export interface DrainLog {
  handedOver: number;
  perRoomMedianMs: number | null;
  perRoomMaxMs: number | null;
}

export function parseDrainLog(logs: string): DrainLog | null {
  const match = /drained: (\d+) room\(s\) handed over(?:, per room median (\d+) ms, max (\d+) ms)?/.exec(logs);
  if (!match) return null;
  return { handedOver: Number(match[1]), perRoomMedianMs: match[2] ? Number(match[2]) : null, perRoomMaxMs: match[3] ? Number(match[3]) : null };
}

export interface RestartStep {
  gatewayId: string;
  /** Rooms whose member was on the gateway when it got SIGTERM. */
  roomsMoved: number;
  exit: { code: number | null; signal: NodeJS.Signals | null };
  /** SIGTERM to the process's exit (the whole drain). */
  drainMs: number;
  drainLog: DrainLog | null;
  /**
   * Per moved room: from the member losing the gateway (`room:moved` or the disconnect) to its
   * join acknowledged on another gateway (served again), ascending.
   */
  handOverMs: number[];
  /**
   * Per moved room: the successful attempt alone (asking the API, connecting, the join and so
   * the room's load on its new gateway), ascending. The rest of the hand-over is refused
   * attempts and their backoff.
   */
  joinAttemptMs: number[];
  /** Where the moved rooms went. */
  movedTo: Record<string, number>;
  /** Start of the new process until it answered `/health/live`. */
  restartMs: number;
  before: GatewayCount[];
  after: GatewayCount[];
}

/**
 * One step of a rolling restart: SIGTERM to the gateway (its drain hands every room over, then
 * it exits), wait until every member of its rooms is joined elsewhere, start it again with the
 * same id and port, and wait until the directory shows it active and every room loaded.
 */
export async function drainAndRestart(stack: TestStack, api: ApiClient, admin: TestUser, rooms: readonly FleetRoom[], gatewayId: string): Promise<RestartStep> {
  const before = await settledCounts(api, admin, stack, rooms.length);
  const moved = rooms.filter((r) => r.member.gatewayId === gatewayId);
  const proc = stack.gateway(gatewayId).proc;
  const termAt = Date.now();
  proc.signal('SIGTERM');
  const exit = await Promise.race([proc.exited, sleep(120_000).then(() => null)]);
  if (!exit) throw new Error(`${gatewayId} did not exit within 120 s of SIGTERM`);
  const drainMs = Date.now() - termAt;
  const drainLog = parseDrainLog(proc.logs());

  await waitFor(
    `every member of ${gatewayId}'s ${moved.length} rooms joined on another gateway`,
    async () => moved.every((r) => r.member.gatewayId !== undefined && r.member.gatewayId !== gatewayId),
    60_000,
    100,
  );
  const handOverMs: number[] = [];
  const joinAttemptMs: number[] = [];
  const movedTo: Record<string, number> = {};
  for (const room of moved) {
    const loss = room.member.losses.find((l) => l.gatewayId === gatewayId && l.at >= termAt);
    const join = loss && room.member.joins.find((j) => j.at >= loss.at && j.gatewayId !== gatewayId);
    if (loss && join) {
      handOverMs.push(join.at - loss.at);
      joinAttemptMs.push(join.ms);
    }
    const to = room.member.gatewayId!;
    movedTo[to] = (movedTo[to] ?? 0) + 1;
  }
  handOverMs.sort((a, b) => a - b);
  joinAttemptMs.sort((a, b) => a - b);

  const startAt = Date.now();
  await stack.startGateway(gatewayId);
  const restartMs = Date.now() - startAt;
  const after = await settledCounts(api, admin, stack, rooms.length);
  return { gatewayId, roomsMoved: moved.length, exit, drainMs, drainLog, handOverMs, joinAttemptMs, movedTo, restartMs, before, after };
}

export interface ExactlyOnce {
  /** Messages acknowledged to the members. */
  acked: number;
  /** Of those, found in the log once, at the acknowledged seq, by the acknowledged author. */
  atAckedSeq: number;
  /** Rows of the log carrying one of this run's clientMsgIds (exactly `acked` when nothing doubled or leaked). */
  rowsWithPrefix: number;
  /** Acked messages missing from the log or at another seq. */
  lost: number;
  /** Rows of the run that match no ack (a double, or a write that was never acknowledged). */
  unexpected: number;
}

/**
 * One SQL query: every message acknowledged to a member of `rooms` is in `room_events` exactly
 * once, at its acknowledged seq, and the log holds no other message with a clientMsgId of this
 * run (`<prefix>-…`).
 */
export async function checkExactlyOnce(pool: Pool, rooms: readonly FleetRoom[], prefix: string): Promise<ExactlyOnce> {
  const roomIds: string[] = [];
  const actors: string[] = [];
  const ids: string[] = [];
  const seqs: number[] = [];
  for (const room of rooms) {
    for (const ack of room.member.acks) {
      if (!ack.clientMsgId.startsWith(`${prefix}-`)) continue;
      roomIds.push(room.roomId);
      actors.push(room.member.user.user.id);
      ids.push(ack.clientMsgId);
      seqs.push(ack.seq);
    }
  }
  const { rows } = await pool.query<{ acked: string; at_acked_seq: string; rows_with_prefix: string }>(
    `WITH acked AS (
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[]) AS a(room_id, actor_id, client_msg_id, seq)
     )
     SELECT
       (SELECT count(*) FROM acked) AS acked,
       (SELECT count(*) FROM acked a JOIN room_events e
          ON e.room_id = a.room_id AND e.seq = a.seq AND e.client_msg_id = a.client_msg_id AND e.actor_id = a.actor_id
          AND e.type = 'message.posted') AS at_acked_seq,
       (SELECT count(*) FROM room_events e WHERE e.room_id = ANY($5::uuid[]) AND e.client_msg_id LIKE $6) AS rows_with_prefix`,
    [roomIds, actors, ids, seqs, rooms.map((r) => r.roomId), `${prefix}-%`],
  );
  const row = rows[0]!;
  const acked = Number(row.acked);
  const atAckedSeq = Number(row.at_acked_seq);
  const rowsWithPrefix = Number(row.rows_with_prefix);
  return { acked, atAckedSeq, rowsWithPrefix, lost: acked - atAckedSeq, unexpected: rowsWithPrefix - atAckedSeq };
}

/** Each gateway's rooms as a multiple of the mean over the given gateways (1 = exactly even). */
export function spreadOf(counts: readonly GatewayCount[]): { mean: number; ratios: Record<string, number>; min: number; max: number } {
  const mean = counts.reduce((sum, c) => sum + c.rooms, 0) / Math.max(1, counts.length);
  const ratios = Object.fromEntries(counts.map((c) => [c.id, mean > 0 ? Math.round((c.rooms / mean) * 100) / 100 : 0]));
  const values = Object.values(ratios);
  return { mean, ratios, min: Math.min(...values), max: Math.max(...values) };
}

/** Closes every member's connection. */
export function closeRooms(rooms: readonly FleetRoom[]): void {
  for (const room of rooms) room.member.close();
}
