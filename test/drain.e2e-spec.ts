/**
 * Safe drain (issue: operations and admin, acceptance 1 and 2): a gateway is taken out of
 * service under load, through the admin endpoint and through SIGTERM, and nothing is lost,
 * doubled or sent to it afterwards. Real API and gateway processes, Postgres, Redis and S3.
 */
import { Pool } from 'pg';
import { ApiClient, type TestUser } from './support/client';
import { reportFigure } from './support/figures';
import { baseEnv, waitFor } from './support/processes';
import { ResilientClient } from './support/resilient-client';
import { TestStack } from './support/stack';

jest.setTimeout(240_000);

const ROOMS = 6;

interface Scenario {
  stack: TestStack;
  api: ApiClient;
  admin: TestUser;
  rooms: string[];
  clients: ResilientClient[];
  /** The gateway to drain: the one owning the most rooms. */
  target: string;
  targetRooms: string[];
  stopLoad(): Promise<void>;
}

async function startScenario(name: string, pool: Pool): Promise<Scenario> {
  const stack = await TestStack.start({ name, gateways: 3, env: { RATE_LIMIT_MSG_PER_SEC: '0', SNAPSHOT_INTERVAL_MS: '2000' } });
  try {
    const api = new ApiClient(stack.apiUrl);
    await stack.createAdmin(`${name}_admin`, 'admin-password-123');
    const login = await api.request('POST', '/auth/login', { body: { username: `${name}_admin`, password: 'admin-password-123' } });
    const admin: TestUser = login.body;
    const users = await Promise.all(Array.from({ length: ROOMS * 2 }, (_, i) => api.register(`${name}${i}`)));
    const rooms: string[] = [];
    for (let i = 0; i < ROOMS; i++) rooms.push((await api.createRoom(users[i * 2]!.token, `${name} room ${i}`)).id);
    const clients = users.map((user, i) => new ResilientClient(api, user, rooms[Math.floor(i / 2)]!, { name: `${name}-c${i}` }));
    await Promise.all(clients.map((c) => c.connect()));

    const owners = new Map<string, string[]>();
    for (const roomId of rooms) {
      const owner = (await api.connection(admin.token, roomId)).gatewayId;
      owners.set(owner, [...(owners.get(owner) ?? []), roomId]);
    }
    const [target, targetRooms] = [...owners.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;

    let stopping = false;
    const load = clients.map(async (client, i) => {
      for (let n = 0; !stopping; n++) await client.send(`${name}-${i}-${n}`, `client ${i} message ${n}`);
    });
    const stopLoad = async () => {
      stopping = true;
      await Promise.all(load);
    };
    return { stack, api, admin, rooms, clients, target, targetRooms, stopLoad };
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

/** Every room's log is gap-free and holds each acknowledged message exactly once, at its seq. */
async function expectLogsExact(pool: Pool, rooms: string[], clients: ResilientClient[]): Promise<number> {
  let total = 0;
  for (const roomId of rooms) {
    const { rows } = await pool.query<{ seq: number; type: string; client_msg_id: string | null; actor_id: string | null }>(
      'SELECT seq, type, client_msg_id, actor_id FROM room_events WHERE room_id = $1 ORDER BY seq',
      [roomId],
    );
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    const acked = clients.filter((c) => c.roomId === roomId).flatMap((c) => c.acks.map((a) => ({ ...a, userId: c.user.user.id })));
    // Plus one member.joined per client that did not create the room (its first join).
    const joins = rows.filter((r) => r.type === 'member.joined').length;
    expect(joins).toBe(new Set(rows.filter((r) => r.type === 'member.joined').map((r) => r.actor_id)).size);
    expect(rows.length).toBe(1 + joins + acked.length);
    const bySeq = new Map(rows.map((r) => [r.seq, r]));
    for (const ack of acked) expect(bySeq.get(ack.seq)).toMatchObject({ client_msg_id: ack.clientMsgId, actor_id: ack.userId });
    total += acked.length;
  }
  return total;
}

describe('gateway drain (e2e)', () => {
  let pool: Pool;

  beforeAll(() => {
    pool = new Pool({ connectionString: baseEnv().DATABASE_URL, max: 2 });
  });

  afterAll(async () => {
    await pool.end();
  });

  it('drains through the admin endpoint under load: nothing lost or doubled, no new connection to it', async () => {
    const s = await startScenario('drainapi', pool);
    try {
      // Let traffic flow on every room first.
      await waitFor('traffic on every room', async () => s.clients.every((c) => c.acks.length >= 5), 30_000);
      const statuses: string[] = [];
      const watchDirectory = setInterval(() => {
        void s.api.request('GET', '/admin/gateways', { token: s.admin.token }).then((res) => {
          const gw = res.body?.gateways?.find((g: { id: string }) => g.id === s.target);
          if (gw && statuses.at(-1) !== gw.status) statuses.push(gw.status);
        });
      }, 100);

      const drainAt = Date.now();
      const drain = await s.api.request('POST', `/admin/gateways/${s.target}/drain`, { token: s.admin.token });
      expect(drain.status).toBe(202);
      expect(drain.body.gateway).toMatchObject({ id: s.target, status: 'draining' });

      // New rooms created and connected during the drain never land on the draining gateway.
      const newcomer = await s.api.register('drainapinew');
      const placedDuringDrain: string[] = [];
      for (let i = 0; i < 6; i++) {
        const room = await s.api.createRoom(newcomer.token, `during drain ${i}`);
        placedDuringDrain.push((await s.api.connection(newcomer.token, room.id)).gatewayId);
      }

      const gone = await waitFor(
        'the drained gateway to be gone with 0 rooms',
        async () => {
          const res = await s.api.request('GET', '/admin/gateways', { token: s.admin.token });
          const gw = res.body.gateways.find((g: { id: string }) => g.id === s.target);
          return gw?.status === 'gone' ? gw : undefined;
        },
        60_000,
        200,
      );
      clearInterval(watchDirectory);
      // Members of the drained rooms moved and keep being served elsewhere.
      const moved = s.clients.filter((c) => s.targetRooms.includes(c.roomId));
      await waitFor('every moved member to be acknowledged on another gateway', async () =>
        moved.every((c) => c.acks.some((a) => a.at > drainAt && a.gatewayId !== s.target)),
      );
      await s.stopLoad();

      expect(placedDuringDrain.filter((id) => id === s.target)).toEqual([]);
      expect(statuses).toContain('draining');
      expect(gone).toMatchObject({ status: 'gone', rooms: 0 });
      // The gateway idles (it was drained by the endpoint, not stopped).
      expect(s.stack.gateway(s.target).proc.running).toBe(true);
      for (const c of moved) {
        expect(c.gatewayId).not.toBe(s.target);
        expect(c.moved.some((m) => m.reason === 'drain')).toBe(true);
        // After the drain started, no join of this client went to the drained gateway again.
        expect(c.joins.filter((j) => j.at > drainAt + 100 && j.gatewayId === s.target)).toEqual([]);
      }
      const acked = await expectLogsExact(pool, s.rooms, s.clients);
      for (const c of s.clients) expect(c.conflicts).toEqual([]);

      const handover = moved.flatMap((c) => c.outages.filter((o) => o.fromGateway === s.target).map((o) => o.ms));
      reportFigure('drain', 'admin drain: member served again after room:moved (median)', median(handover), 'ms', {
        rooms: s.targetRooms.length,
        members: moved.length,
        max: Math.max(...handover),
        messages: acked,
      });
    } finally {
      await s.stopLoad().catch(() => undefined);
      for (const c of s.clients) c.close();
      await s.stack.stop();
    }
  });

  it('drains on SIGTERM under load and exits 0 after snapshotting every room it held', async () => {
    const s = await startScenario('drainsig', pool);
    try {
      await waitFor('traffic on every room', async () => s.clients.every((c) => c.acks.length >= 5), 30_000);
      const epochs = new Map<string, number>();
      for (const roomId of s.targetRooms) {
        const view = await s.api.request('GET', `/admin/rooms/${roomId}`, { token: s.admin.token });
        expect(view.body.owner.gatewayId).toBe(s.target);
        epochs.set(roomId, view.body.owner.epoch);
      }
      const proc = s.stack.gateway(s.target).proc;
      const drainAt = Date.now();
      proc.signal('SIGTERM');
      const exit = await proc.exited;
      const exitedAt = Date.now();
      expect(exit).toEqual({ code: 0, signal: null });

      const moved = s.clients.filter((c) => s.targetRooms.includes(c.roomId));
      await waitFor('every moved member to be acknowledged on another gateway', async () =>
        moved.every((c) => c.acks.some((a) => a.at > drainAt && a.gatewayId !== s.target)),
      );
      await s.stopLoad();

      // Its last snapshots: one per room it held, under its own epoch, written before it exited,
      // at the head the room had when it was handed over (no acknowledged event after it).
      for (const roomId of s.targetRooms) {
        const { rows } = await pool.query<{ seq: number; created_at: Date }>(
          'SELECT seq, created_at FROM room_snapshots WHERE room_id = $1 AND epoch = $2 ORDER BY seq DESC LIMIT 1',
          [roomId, epochs.get(roomId)],
        );
        expect(rows).toHaveLength(1);
        expect(rows[0]!.created_at.getTime()).toBeLessThanOrEqual(exitedAt);
        const ackedThere = s.clients
          .filter((c) => c.roomId === roomId)
          .flatMap((c) => c.acks.filter((a) => a.gatewayId === s.target).map((a) => a.seq));
        expect(rows[0]!.seq).toBeGreaterThanOrEqual(Math.max(...ackedThere));
      }
      for (const c of moved) {
        expect(c.gatewayId).not.toBe(s.target);
        expect(c.moved.some((m) => m.reason === 'drain')).toBe(true);
      }
      const directory = await s.api.request('GET', '/admin/gateways', { token: s.admin.token });
      expect(directory.body.gateways.find((g: { id: string }) => g.id === s.target)).toMatchObject({ status: 'gone', rooms: 0 });
      const acked = await expectLogsExact(pool, s.rooms, s.clients);

      const handover = moved.flatMap((c) => c.outages.filter((o) => o.fromGateway === s.target).map((o) => o.ms));
      reportFigure('drain', 'SIGTERM drain: member served again after room:moved (median)', median(handover), 'ms', {
        rooms: s.targetRooms.length,
        members: moved.length,
        max: Math.max(...handover),
        processExitMs: exitedAt - drainAt,
        messages: acked,
      });
    } finally {
      await s.stopLoad().catch(() => undefined);
      for (const c of s.clients) c.close();
      await s.stack.stop();
    }
  });
});

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
