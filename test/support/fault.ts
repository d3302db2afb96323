import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import type { ApiClient, TestUser } from './client';
import { waitFor } from './processes';
import type { AckRecord, ResilientClient } from './resilient-client';
import type { TestStack } from './stack';

/** Shared checks of the fault suites: the log read straight from Postgres, admin views. */

export interface LogRow {
  seq: number;
  type: string;
  client_msg_id: string | null;
  actor_id: string | null;
  ts: string;
}

export async function logOf(pool: Pool, roomId: string): Promise<LogRow[]> {
  const { rows } = await pool.query<LogRow>(
    `SELECT seq, type, client_msg_id, actor_id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts
       FROM room_events WHERE room_id = $1 ORDER BY seq`,
    [roomId],
  );
  return rows;
}

export interface SnapshotRow {
  seq: number;
  epoch: number;
  key: string;
  bytes: number;
  checksum: string;
  created_at: Date;
}

export async function snapshotsOf(pool: Pool, roomId: string): Promise<SnapshotRow[]> {
  const { rows } = await pool.query<SnapshotRow>('SELECT seq, epoch, key, bytes, checksum, created_at FROM room_snapshots WHERE room_id = $1 ORDER BY seq', [roomId]);
  return rows;
}

export async function roomRow(pool: Pool, roomId: string): Promise<{ head_seq: number; epoch: number; owner_gateway_id: string | null }> {
  const { rows } = await pool.query('SELECT head_seq, epoch, owner_gateway_id FROM rooms WHERE id = $1', [roomId]);
  if (!rows[0]) throw new Error(`no room ${roomId}`);
  return rows[0];
}

/**
 * The log is exactly what the clients had acknowledged: seqs 1..N gap-free, one `room.created`,
 * one `member.joined` per user who joined, and one event per distinct acknowledged (user, clientMsgId), each at its acknowledged seq
 * and nowhere else, and nothing that was not acknowledged. Returns a description of every
 * violation (empty: all good), so a test can show them all at once.
 */
export function compareLogWithAcks(log: LogRow[], clients: Array<{ userId: string; acks: AckRecord[] }>, extraEvents = 0): string[] {
  const problems: string[] = [];
  log.forEach((row, i) => {
    if (row.seq !== i + 1) problems.push(`gap or disorder: position ${i} holds seq ${row.seq}`);
  });
  if (log[0]?.type !== 'room.created') problems.push(`seq 1 is ${log[0]?.type}, not room.created`);
  const bySeq = new Map(log.map((row) => [row.seq, row]));
  const byKey = new Map<string, LogRow[]>();
  for (const row of log) {
    if (row.client_msg_id === null) continue;
    const key = `${row.actor_id}/${row.client_msg_id}`;
    byKey.set(key, [...(byKey.get(key) ?? []), row]);
  }
  const acked = new Set<string>();
  for (const client of clients) {
    for (const ack of client.acks) {
      const key = `${client.userId}/${ack.clientMsgId}`;
      const rows = byKey.get(key) ?? [];
      if (rows.length !== 1) problems.push(`${ack.clientMsgId}: ${rows.length} rows in the log (seqs ${rows.map((r) => r.seq).join(',')})`);
      const row = bySeq.get(ack.seq);
      if (!row || row.client_msg_id !== ack.clientMsgId || row.actor_id !== client.userId) {
        problems.push(`${ack.clientMsgId} acked at seq ${ack.seq} (via ${ack.gatewayId}) but the log has ${row ? `${row.actor_id}/${row.client_msg_id}` : 'nothing'} there`);
      } else if (row.ts !== ack.ts) {
        problems.push(`${ack.clientMsgId} at seq ${ack.seq}: ack ts ${ack.ts}, log ts ${row.ts}`);
      }
      if (acked.has(key)) {
        const first = client.acks.find((a) => a.clientMsgId === ack.clientMsgId)!;
        if (first.seq !== ack.seq || first.ts !== ack.ts) problems.push(`${ack.clientMsgId} acknowledged twice with different results: ${first.seq} and ${ack.seq}`);
      }
      acked.add(key);
    }
  }
  // A user's first join of a public room logs their member.joined (issue 10), once per user.
  const joins = log.filter((row) => row.type === 'member.joined');
  const joiners = new Set(joins.map((row) => row.actor_id));
  if (joiners.size !== joins.length) problems.push(`a user joined twice: ${joins.map((r) => `${r.actor_id}@${r.seq}`).join(', ')}`);
  const expected = 1 + acked.size + joins.length + extraEvents;
  if (log.length !== expected) {
    problems.push(`the log holds ${log.length} events, expected 1 + ${acked.size} acknowledged + ${joins.length} joins${extraEvents ? ` + ${extraEvents} others` : ''} = ${expected}`);
  }
  for (const [key, rows] of byKey) if (!acked.has(key)) problems.push(`${key} is in the log (seq ${rows.map((r) => r.seq).join(',')}) but was never acknowledged`);
  return problems;
}

/** Every event a client applied equals the log at that seq, and it saw no two events for one seq. */
export function compareClientWithLog(client: ResilientClient, log: LogRow[]): string[] {
  const problems: string[] = client.conflicts.map((c) => `${client.name}: two events for seq ${c.seq}: ${JSON.stringify(c.first)} vs ${JSON.stringify(c.second)}`);
  const bySeq = new Map(log.map((row) => [row.seq, row]));
  for (const event of client.events) {
    const row = bySeq.get(event.seq);
    if (!row || row.type !== event.type || (row.client_msg_id ?? undefined) !== event.clientMsgId || row.ts !== event.ts) {
      problems.push(`${client.name}: event ${event.seq} ${event.type}/${event.clientMsgId} differs from the log (${row ? `${row.type}/${row.client_msg_id}` : 'missing'})`);
    }
  }
  return problems;
}

/** An admin made with the CLI (`create-admin`), logged in through the API. */
export async function makeAdmin(stack: TestStack, api: ApiClient): Promise<TestUser> {
  const username = `admin_${randomBytes(4).toString('hex')}`;
  const password = 'admin-password-123';
  await stack.createAdmin(username, password);
  return api.login(username, password);
}

export async function gatewayStatus(api: ApiClient, admin: TestUser, id: string): Promise<string | undefined> {
  const res = await api.request<{ gateways: Array<{ id: string; status: string }> }>('GET', '/admin/gateways', { token: admin.token });
  if (res.status !== 200) throw new Error(`GET /admin/gateways: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.gateways.find((g) => g.id === id)?.status;
}

/** Waits until the registry lists `id` with `status` (a killed gateway becomes `gone` after the TTL). */
export async function waitForGatewayStatus(api: ApiClient, admin: TestUser, id: string, status: 'active' | 'gone' | 'draining', timeoutMs = 15_000): Promise<void> {
  await waitFor(`gateway ${id} to be ${status}`, async () => (await gatewayStatus(api, admin, id)) === status, timeoutMs, 100);
}

export async function adminRoom(api: ApiClient, admin: TestUser, roomId: string) {
  const res = await api.request<{
    room: { id: string };
    headSeq: number;
    owner: { gatewayId: string; epoch: number } | null;
    snapshot: { seq: number; createdAt: string; bytes: number } | null;
  }>('GET', `/admin/rooms/${roomId}`, { token: admin.token });
  if (res.status !== 200) throw new Error(`GET /admin/rooms/${roomId}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
