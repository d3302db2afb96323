/**
 * Issue 3, acceptance 3 and 4: the whole stack stopped and started again keeps every room's
 * history and goes on at the next seq; resuming a room after its gateway died costs about the
 * same for 200k events of history as for 2k, thanks to snapshots. Real processes, Postgres,
 * Redis and S3 server. Timings are printed as figures, never asserted.
 */
import { Pool } from 'pg';
import type { EventEnvelope } from '../libs/domain/src';
import { ApiClient, type TestUser } from './support/client';
import { fillRoomLog } from './support/bulk-log';
import { compareClientWithLog, compareLogWithAcks, logOf, makeAdmin, roomRow, snapshotsOf, waitForGatewayStatus } from './support/fault';
import { reportFigure } from './support/figures';
import { baseEnv, waitFor } from './support/processes';
import { type AckRecord, ResilientClient } from './support/resilient-client';
import { S3Server } from './support/s3-server';
import { type ExitInfo, TestStack } from './support/stack';

jest.setTimeout(240_000);

const ENV = { RATE_LIMIT_MSG_PER_SEC: '0' };

describe('whole-stack restart (fault e2e)', () => {
  let s3: S3Server;
  let first: TestStack | undefined;
  let second: TestStack | undefined;
  let pool: Pool;
  const clients: ResilientClient[] = [];

  beforeAll(async () => {
    s3 = await S3Server.start();
    pool = new Pool({ connectionString: baseEnv().DATABASE_URL, max: 2 });
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) c.close();
    await pool?.end();
    await first?.stop();
    await second?.stop();
    await s3?.destroy();
  });

  it('keeps every room history across a stop (SIGTERM, exit 0) and start of everything; writes go on at the next seq', async () => {
    first = await TestStack.start({ name: 'restart', gateways: 2, s3, env: ENV });
    const api1 = new ApiClient(first.apiUrl);
    const users = await Promise.all([api1.register('restart_a'), api1.register('restart_b')]);
    const rooms = await Promise.all(Array.from({ length: 4 }, (_, i) => api1.createRoom(users[0]!.token, `restart ${i}`)));

    // Traffic in every room, with an edit and a delete so the folded state matters.
    const before = new Map<string, { user: TestUser; acks: AckRecord[]; events: EventEnvelope[]; head: number; deletedSeq: number; gatewayId: string }>();
    await Promise.all(
      rooms.map(async (room, i) => {
        const user = users[i % 2]!;
        const c = new ResilientClient(api1, user, room.id, { name: `restart-${i}` });
        clients.push(c);
        await c.connect();
        const acks = await c.sendMany(`r${i}`, 25, 5);
        const edited = await c.edit(acks[0]!.seq, 'edited before the restart');
        const deleted = await c.remove(acks[1]!.seq);
        if (!edited.ok || !deleted.ok) throw new Error(`edit/delete failed: ${JSON.stringify([edited, deleted])}`);
        await c.caughtUp(deleted.seq);
        before.set(room.id, { user, acks, events: c.events, head: deleted.seq, deletedSeq: acks[1]!.seq, gatewayId: c.gatewayId! });
      }),
    );
    expect(new Set([...before.values()].map((r) => r.gatewayId)).size).toBe(2);
    for (const c of clients.splice(0)) c.close();

    // Stop everything: every process drains and exits 0.
    const exits: ExitInfo[] = await first.stop();
    expect(exits.map((e) => [e.name, e.code, e.signal])).toEqual(exits.map((e) => [e.name, 0, null]));
    // The drain snapshotted every room at its head before exiting.
    for (const room of rooms) {
      const snapshots = await snapshotsOf(pool, room.id);
      expect(snapshots.at(-1)?.seq).toBe(before.get(room.id)!.head);
    }

    // A new stack on the same database, Redis and object store.
    second = await TestStack.start({ name: 'restart', gateways: 2, s3, env: ENV, keepRedis: true });
    const api2 = new ApiClient(second.apiUrl);
    try {
      for (const room of rooms) {
        const was = before.get(room.id)!;
        // History over HTTP equals what was acknowledged (and what the client had received).
        const history = await api2.allEvents(was.user.token, room.id);
        expect(history).toEqual(was.events);
        const log = await logOf(pool, room.id);
        expect(compareLogWithAcks(log, [{ userId: was.user.user.id, acks: was.acks }], 2)).toEqual([]);

        // Rejoin from the start: the same events; new writes take the next seq.
        const c = new ResilientClient(api2, was.user, room.id, { name: `restarted-${room.name}` });
        clients.push(c);
        await c.connect();
        expect(c.joins[0]!.headSeq).toBe(was.head);
        await c.caughtUp(was.head);
        expect(c.events).toEqual(was.events);
        const next = await c.send('after-restart', 'the stack came back');
        expect(next.seq).toBe(was.head + 1);
        // The folded state survived too: a resent old id answers its first result, a deleted
        // message stays deleted.
        const again = await c.send(was.acks[0]!.clientMsgId, 'a resend of the first message');
        expect([again.seq, again.ts]).toEqual([was.acks[0]!.seq, was.acks[0]!.ts]);
        const editDeleted = await c.edit(was.deletedSeq, 'edit of a deleted message');
        expect(editDeleted.ok ? 'ok' : editDeleted.error.code).toBe('not_found');
        const after = await logOf(pool, room.id);
        expect(after.map((r) => r.seq)).toEqual(Array.from({ length: was.head + 1 }, (_, i) => i + 1));
        await c.caughtUp(was.head + 1);
        expect(compareClientWithLog(c, after)).toEqual([]);
      }
      for (const c of clients.splice(0)) c.close();
      const exits2 = await second.stop();
      expect(exits2.map((e) => [e.name, e.code, e.signal])).toEqual(exits2.map((e) => [e.name, 0, null]));
    } catch (err) {
      console.log(second.logs());
      throw err;
    }
  });
});

describe('resume cost (fault e2e)', () => {
  let stack: TestStack;
  let api: ApiClient;
  let pool: Pool;
  let admin: TestUser;
  const clients: ResilientClient[] = [];

  beforeAll(async () => {
    // One gateway first, so both rooms are loaded (and snapshotted) there.
    stack = await TestStack.start({ name: 'cost', gateways: 1, env: { ...ENV, SNAPSHOT_EVERY_EVENTS: '1000' } });
    api = new ApiClient(stack.apiUrl);
    pool = new Pool({ connectionString: baseEnv().DATABASE_URL, max: 2 });
    admin = await makeAdmin(stack, api);
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) c.close();
    await pool?.end();
    await stack?.stop();
  });



  it('resumes a 200k-event room from its snapshot about as fast as a 2k-event room', async () => {
    const user = await api.register('cost');
    const sizes = { small: 2_000, big: 200_000 } as const;
    const rooms = { small: await api.createRoom(user.token, 'small history'), big: await api.createRoom(user.token, 'big history') };
    const filledAt = Date.now();
    await fillRoomLog(pool, rooms.small.id, user, sizes.small);
    await fillRoomLog(pool, rooms.big.id, user, sizes.big);
    const fillMs = Date.now() - filledAt;
    const firstGateway = stack.gateways[0]!.id;

    // First load: a full replay on the only gateway, which then snapshots each room.
    const fullReplayMs: Record<string, number> = {};
    for (const size of ['small', 'big'] as const) {
      const c = new ResilientClient(api, user, rooms[size].id, { name: `cost-load-${size}`, startAfterSeq: 'latest', connectTimeoutMs: 120_000, ackTimeoutMs: 30_000 });
      clients.push(c);
      await c.connect();
      expect(c.gatewayId).toBe(firstGateway);
      expect(c.joins[0]!.headSeq).toBe(sizes[size]);
      fullReplayMs[size] = c.joins[0]!.ms;
    }
    for (const size of ['small', 'big'] as const) {
      await waitFor(`a snapshot of the ${size} room at its head`, async () => (await snapshotsOf(pool, rooms[size].id)).at(-1)?.seq === sizes[size], 60_000, 200);
    }
    for (const c of clients.splice(0)) c.close();

    // The owner dies; once the registry has noticed, each room is resumed on the other gateway.
    const second = await stack.startGateway('cost-gw-2');
    await waitForGatewayStatus(api, admin, second.id, 'active');
    await stack.killGateway(firstGateway);
    await waitForGatewayStatus(api, admin, firstGateway, 'gone', 15_000);

    const resumeMs: Record<string, number> = {};
    try {
      for (const size of ['small', 'big'] as const) {
        const head = sizes[size];
        const epochBefore = (await roomRow(pool, rooms[size].id)).epoch;
        const c = new ResilientClient(api, user, rooms[size].id, { name: `cost-resume-${size}`, startAfterSeq: head, connectTimeoutMs: 120_000, ackTimeoutMs: 30_000 });
        clients.push(c);
        const started = Date.now();
        await c.connect(); // POST /connection, handshake (lease, snapshot, tail), join ack
        resumeMs[size] = Date.now() - started;
        expect(c.gatewayId).toBe(second.id);
        expect(c.joins[0]).toMatchObject({ gatewayId: second.id, afterSeq: head, headSeq: head, events: 0, hasMore: false });
        expect((await roomRow(pool, rooms[size].id)).epoch).toBe(epochBefore + 1);
        // The resumed state is right: the next send is head+1, and old ids are still known
        // (the newest from the snapshot's dedup window, the oldest from the log's unique index).
        const next = await c.send('after-resume', 'first message after the resume');
        expect(next.seq).toBe(head + 1);
        expect((await c.send(`bulk-${head}`, 'resend of the newest bulk message')).seq).toBe(head);
        expect((await c.send('bulk-2', 'resend of the oldest bulk message')).seq).toBe(2);
        const rows = await logOf(pool, rooms[size].id);
        expect(rows.length).toBe(head + 1);
        expect(rows.at(-1)).toMatchObject({ seq: head + 1, client_msg_id: 'after-resume' });
        // A snapshot at (or close to) the head was there to resume from.
        const snapshots = await snapshotsOf(pool, rooms[size].id);
        expect(snapshots.some((s) => s.seq <= head && s.seq >= head - 1000)).toBe(true);
      }
      // A client that missed more than a join page: 500 events in the join ack, the rest paged
      // over HTTP (the recipe's `hasMore`).
      const behind = sizes.big - 1_200;
      const reader = new ResilientClient(api, user, rooms.big.id, { name: 'cost-reader', startAfterSeq: behind, ackTimeoutMs: 30_000 });
      clients.push(reader);
      await reader.connect();
      expect(reader.joins[0]).toMatchObject({ afterSeq: behind, events: 500, hasMore: true });
      expect(reader.joins[0]!.paged).toBeGreaterThanOrEqual(700);
      await reader.caughtUp(sizes.big + 1);
      expect(reader.events.map((e) => e.seq)).toEqual(Array.from({ length: 1_201 }, (_, i) => behind + 1 + i));
      expect(reader.events.slice(0, -1).every((e) => e.clientMsgId === `bulk-${e.seq}`)).toBe(true);
      expect(reader.conflicts).toEqual([]);
    } catch (err) {
      console.log(stack.logs());
      throw err;
    }

    const snapshotBytes = Object.fromEntries(
      await Promise.all((['small', 'big'] as const).map(async (size) => [size, (await snapshotsOf(pool, rooms[size].id)).find((s) => s.seq === sizes[size])?.bytes])),
    );
    reportFigure('resume', 'resume of a 2k-event room (POST /connection after the TTL to join ack, from snapshot)', resumeMs.small! / 1000, 's', {
      events: sizes.small,
      snapshotBytes: snapshotBytes.small,
    });
    reportFigure('resume', 'resume of a 200k-event room (POST /connection after the TTL to join ack, from snapshot)', resumeMs.big! / 1000, 's', {
      events: sizes.big,
      snapshotBytes: snapshotBytes.big,
    });
    reportFigure('resume', 'first load of the 2k-event room (full replay, no snapshot yet)', fullReplayMs.small! / 1000, 's', { events: sizes.small });
    reportFigure('resume', 'first load of the 200k-event room (full replay, no snapshot yet)', fullReplayMs.big! / 1000, 's', { events: sizes.big, sqlFillMs: fillMs });
  });
});
