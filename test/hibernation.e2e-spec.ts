/**
 * Rooms hibernate and gateways have a capacity (issue 7, acceptance 2 and 3): real API and
 * gateway processes with ROOM_IDLE_MS=2000. Rooms used and left unload (final snapshot, lease
 * and ownership released, memory freed), resume on the next connection with their whole
 * history, and a room with a socket open never unloads. A join racing the unload loses and
 * forks nothing. With MAX_ROOMS_PER_GATEWAY=40 two gateways hold 80 rooms; the 81st waits for
 * one to go idle.
 */
import { Pool } from 'pg';
import { ApiClient, RoomMember, type TestUser } from './support/client';
import { baseEnv, waitFor } from './support/processes';
import { reportFigure } from './support/figures';
import { ResilientClient } from './support/resilient-client';
import { TestStack } from './support/stack';

jest.setTimeout(180_000);

const IDLE_MS = 2_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface GatewayRow {
  id: string;
  status: string;
  rooms: number;
  connections: number;
}

async function adminOf(stack: TestStack, api: ApiClient, name: string): Promise<TestUser> {
  await stack.createAdmin(`${name}_admin`, 'admin-password-123');
  return (await api.request('POST', '/auth/login', { body: { username: `${name}_admin`, password: 'admin-password-123' } })).body;
}

async function gatewaysOf(api: ApiClient, admin: TestUser): Promise<GatewayRow[]> {
  const res = await api.request<{ gateways: GatewayRow[] }>('GET', '/admin/gateways', { token: admin.token });
  if (res.status !== 200) throw new Error(`GET /admin/gateways: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.gateways.filter((g) => g.status === 'active');
}

const loadedRooms = async (api: ApiClient, admin: TestUser) => (await gatewaysOf(api, admin)).reduce((sum, g) => sum + g.rooms, 0);

describe('room hibernation (e2e)', () => {
  let stack: TestStack;
  let api: ApiClient;
  let admin: TestUser;
  let alice: TestUser;
  let pool: Pool;

  beforeAll(async () => {
    stack = await TestStack.start({ name: 'hib', gateways: 2, env: { RATE_LIMIT_MSG_PER_SEC: '0', ROOM_IDLE_MS: String(IDLE_MS) } });
    api = new ApiClient(stack.apiUrl);
    pool = new Pool({ connectionString: baseEnv().DATABASE_URL, max: 2 });
    admin = await adminOf(stack, api, 'hib');
    alice = await api.register('alice');
  });

  afterAll(async () => {
    await pool?.end();
    await stack?.stop();
  });

  async function logOf(roomId: string): Promise<Array<{ seq: number; client_msg_id: string | null }>> {
    const { rows } = await pool.query('SELECT seq, client_msg_id FROM room_events WHERE room_id = $1 ORDER BY seq', [roomId]);
    return rows;
  }

  it('unloads 60 rooms used and left within 15 s, and each resumes with its whole history at the next seq', async () => {
    const roomIds: string[] = [];
    for (let i = 0; i < 60; i++) roomIds.push((await api.createRoom(alice.token, `idle ${i}`)).id);
    // Use each room: join and three messages, all 60 loaded at once; then every member leaves.
    const members = await Promise.all(
      roomIds.map(async (roomId, i) => {
        const member = await RoomMember.enter(api, alice, roomId);
        for (let m = 0; m < 3; m++) {
          const ack = await member.send(`r${i}-m${m}`, `room ${i} message ${m}`);
          expect(ack.ok).toBe(true);
        }
        return member;
      }),
    );
    await waitFor('all 60 rooms to show as loaded', async () => (await loadedRooms(api, admin)) === 60, 10_000, 250);
    for (const member of members) member.close();

    const leftAt = Date.now();
    await waitFor('every room to unload', async () => (await loadedRooms(api, admin)) === 0, 15_000, 250);
    reportFigure('hibernation', 'time until 60 idle rooms unloaded', Date.now() - leftAt, 'ms', { idleMs: IDLE_MS });
    // Released: no room has an owner any more, and each has a snapshot at its head.
    const owners = await Promise.all(roomIds.map((id) => api.request('GET', `/admin/rooms/${id}`, { token: admin.token })));
    for (const res of owners) {
      expect(res.body.owner).toBeNull();
      expect(res.body.snapshot?.seq).toBe(res.body.headSeq);
    }

    await Promise.all(
      roomIds.map(async (roomId, i) => {
        const client = new ResilientClient(api, alice, roomId, { name: `resume-${i}` });
        try {
          await client.connect();
          await client.caughtUp(4);
          const texts = client.events.filter((e) => e.type === 'message.posted').map((e) => (e.data as { text: string }).text);
          expect(texts).toEqual([0, 1, 2].map((m) => `room ${i} message ${m}`));
          const ack = await client.send(`r${i}-after`, 'after hibernation');
          expect(ack.seq).toBe(5);
        } finally {
          client.close();
        }
      }),
    );
    for (const roomId of roomIds) expect((await logOf(roomId)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('never unloads a room while a socket is open in it', async () => {
    const room = await api.createRoom(alice.token, 'kept open');
    const member = await RoomMember.enter(api, alice, room.id);
    const moved: unknown[] = [];
    member.socket.on('room:moved', (notice) => moved.push(notice));
    const owner = (await api.request('GET', `/admin/rooms/${room.id}`, { token: admin.token })).body.owner;
    try {
      await sleep(IDLE_MS * 3);
      expect(moved).toEqual([]);
      expect(member.socket.connected).toBe(true);
      const now = (await api.request('GET', `/admin/rooms/${room.id}`, { token: admin.token })).body.owner;
      expect(now).toEqual(owner);
      // Still served by the same loaded room: the send continues the log.
      const ack = await member.send('still-here', 'still here');
      expect(ack).toMatchObject({ ok: true, seq: 2 });
    } finally {
      member.close();
    }
  });

  // The exact interleavings of a load and an unload are driven deterministically in
  // apps/gateway/src/lifecycle/room-hibernator.int-spec.ts; this is the same story end to end.
  it('clients coming back around the moment the room unloads lose nothing and fork nothing', async () => {
    const room = await api.createRoom(alice.token, 'race');
    const acked = new Map<string, number>();
    const idleNotices: unknown[] = [];
    // Each round leaves the room and comes back right around the moment it unloads (the sweep
    // runs every IDLE_MS/4), sending as soon as it is back.
    for (let round = 0; round < 12; round++) {
      const client = new ResilientClient(api, alice, room.id, { name: `race-${round}`, startAfterSeq: 'latest' });
      try {
        await client.connect();
        const ack = await client.send(`race-${round}`, `round ${round}`);
        acked.set(`race-${round}`, ack.seq);
        idleNotices.push(...client.moved.filter((m) => m.reason === 'idle'));
        expect(client.conflicts).toEqual([]);
      } finally {
        client.close();
      }
      await sleep(IDLE_MS - 200 + ((round * 67) % 800));
    }
    const log = await logOf(room.id);
    expect(log.map((e) => e.seq)).toEqual(Array.from({ length: log.length }, (_, i) => i + 1));
    expect(log.filter((e) => e.client_msg_id !== null).map((e) => [e.client_msg_id, e.seq])).toEqual([...acked.entries()]);
    reportFigure('hibernation', 'rounds that met room:moved idle', idleNotices.length, 'rounds');
  });
});

describe('gateway capacity (e2e)', () => {
  let stack: TestStack;
  let api: ApiClient;
  let alice: TestUser;
  const members: RoomMember[] = [];

  beforeAll(async () => {
    stack = await TestStack.start({
      name: 'cap',
      gateways: 2,
      env: { RATE_LIMIT_MSG_PER_SEC: '0', ROOM_IDLE_MS: String(IDLE_MS), MAX_ROOMS_PER_GATEWAY: '40' },
    });
    api = new ApiClient(stack.apiUrl);
    alice = await api.register('alice');
  });

  afterAll(async () => {
    for (const m of members) m.close();
    await stack?.stop();
  });

  it('two gateways of 40 hold 80 rooms; room 81 gets 503 no_gateway until rooms go idle', async () => {
    const roomIds: string[] = [];
    for (let i = 0; i < 81; i++) roomIds.push((await api.createRoom(alice.token, `cap ${i}`)).id);
    const perGateway = new Map<string, number>();
    for (const roomId of roomIds.slice(0, 80)) {
      members.push(await RoomMember.enter(api, alice, roomId));
      const owner = (await api.connection(alice.token, roomId)).gatewayId;
      perGateway.set(owner, (perGateway.get(owner) ?? 0) + 1);
    }
    expect([...perGateway.values()]).toEqual([40, 40]);

    const refused = await api.request('POST', `/rooms/${roomIds[80]}/connection`, { token: alice.token });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('no_gateway');

    // Ten rooms are left; once they unload, room 81 is placed.
    for (const m of members.splice(0, 10)) m.close();
    const placed = await waitFor(
      'room 81 to be placed',
      async () => {
        const res = await api.request('POST', `/rooms/${roomIds[80]}/connection`, { token: alice.token });
        return res.status === 200 ? res.body : undefined;
      },
      15_000,
      250,
    );
    expect(placed.roomId).toBe(roomIds[80]);
    const last = await RoomMember.enter(api, alice, roomIds[80]!);
    members.push(last);
    const ack = await last.send('81', 'placed at last');
    expect(ack).toMatchObject({ ok: true, seq: 2 });
  });
});
