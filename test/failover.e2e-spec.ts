/**
 * Issue 3, acceptance 1 and 2: a gateway killed with SIGKILL under load, and a frozen (SIGSTOP)
 * owner that comes back after another gateway took its room. Real API and gateway processes,
 * real Postgres, Redis and S3 server; clients follow the README's reconnect recipe
 * (test/support/resilient-client.ts). Timings are printed as figures, never asserted.
 */
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { decodeSnapshotDocument } from '../libs/domain/src';
import { keys } from '../libs/routing/src';
import { ApiClient, type TestUser } from './support/client';
import {
  adminRoom,
  compareClientWithLog,
  compareLogWithAcks,
  logOf,
  makeAdmin,
  median,
  roomRow,
  sleep,
  snapshotsOf,
  waitForGatewayStatus,
} from './support/fault';
import { reportFigure } from './support/figures';
import { baseEnv, waitFor } from './support/processes';
import { ResilientClient } from './support/resilient-client';
import { TestStack } from './support/stack';

jest.setTimeout(180_000);

describe('failover (fault e2e)', () => {
  let stack: TestStack;
  let api: ApiClient;
  let pool: Pool;
  let admin: TestUser;
  const clients: ResilientClient[] = [];

  beforeAll(async () => {
    stack = await TestStack.start({
      name: 'failover',
      gateways: 2,
      env: { RATE_LIMIT_MSG_PER_SEC: '0', SNAPSHOT_EVERY_EVENTS: '50', SNAPSHOT_INTERVAL_MS: '500' },
    });
    api = new ApiClient(stack.apiUrl);
    pool = new Pool({ connectionString: baseEnv().DATABASE_URL, max: 3 });
    admin = await makeAdmin(stack, api);
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) c.close();
    await pool?.end();
    await stack?.stop();
  });

  /** Both gateways running and registered as active (a test may have killed one). */
  async function bothGatewaysUp(): Promise<void> {
    for (const gw of stack.gateways) {
      if (!gw.proc.running) await stack.startGateway(gw.id);
      await waitForGatewayStatus(api, admin, gw.id, 'active');
    }
  }

  function client(user: TestUser, roomId: string, name: string, options: ConstructorParameters<typeof ResilientClient>[3] = {}): ResilientClient {
    const c = new ResilientClient(api, user, roomId, { name, ...options });
    clients.push(c);
    return c;
  }

  it('kill -9 of the owner under load: every send acknowledged, the log holds exactly 1 + 1500 events, each once at its acked seq', async () => {
    await bothGatewaysUp();
    const users = await Promise.all(Array.from({ length: 5 }, (_, i) => api.register(`kill${i}`)));
    const room = await api.createRoom(users[0]!.token, 'kill -9 under load');
    const members = users.map((u, i) => client(u, room.id, `kill-client-${i}`));
    await Promise.all(members.map((m) => m.connect()));
    const owner = members[0]!.gatewayId!;
    expect(members.map((m) => m.gatewayId)).toEqual(Array(5).fill(owner));
    const survivor = stack.gateways.find((g) => g.id !== owner)!.id;

    // SIGKILL the owner once about 600 sends are acknowledged, while the rest are in flight.
    let killAt = 0;
    let ackedAtKill = 0;
    const totalAcks = () => members.reduce((n, m) => n + m.acks.length, 0);
    const killer = (async () => {
      const deadline = Date.now() + 120_000;
      while (totalAcks() < 600 && Date.now() < deadline) await sleep(2);
      ackedAtKill = totalAcks();
      killAt = Date.now();
      await stack.killGateway(owner);
    })();

    const sent = await Promise.all(members.map((m, i) => m.sendMany(`k${i}`, 300, 5)));
    await killer;

    try {
      // Every send acknowledged, each once.
      for (const [i, acks] of sent.entries()) {
        expect(acks).toHaveLength(300);
        expect(new Set(acks.map((a) => a.clientMsgId)).size).toBe(300);
        expect(members[i]!.pending).toEqual([]);
      }
      // The kill really happened in the middle of the traffic.
      expect(killAt).toBeGreaterThan(0);
      expect(ackedAtKill).toBeGreaterThanOrEqual(600);
      expect(ackedAtKill).toBeLessThan(1500);

      // The log, straight from Postgres: 1 + 4 joins (all but the creator) + 1500 events, gap-free, each acked id once at its seq.
      const log = await logOf(pool, room.id);
      expect(log.map((r) => r.seq)).toEqual(Array.from({ length: 1505 }, (_, i) => i + 1));
      expect(compareLogWithAcks(log, members.map((m) => ({ userId: m.user.user.id, acks: m.acks })))).toEqual([]);

      // Every client lost the owner, came back through the API and is now on the survivor.
      await waitFor('every client on the surviving gateway', async () => members.every((m) => m.gatewayId === survivor), 20_000);
      for (const m of members) expect(m.reconnects).toBeGreaterThanOrEqual(1);
      // And each one saw the whole log, in order, each event once.
      for (const m of members) await m.caughtUp(1505);
      for (const m of members) expect(compareClientWithLog(m, log)).toEqual([]);
      for (const m of members) expect(m.events.map((e) => e.seq)).toEqual(Array.from({ length: 1505 }, (_, i) => i + 1));
    } catch (err) {
      console.log(stack.logs());
      throw err;
    }

    const servedAgain = members.map((m) => (m.acks.find((a) => a.gatewayId === survivor && a.at >= killAt)?.at ?? NaN) - killAt);
    const outages = members.flatMap((m) => m.outages.map((o) => o.ms));
    const resent = members.reduce((n, m) => n + m.acks.filter((a) => a.attempts > 1).length, 0);
    reportFigure('failover', 'kill -9: clients served again (max over 5 clients, from SIGKILL to first ack by the survivor)', Math.max(...servedAgain) / 1000, 's', {
      medianS: median(servedAgain) / 1000,
      gatewayTtlSeconds: 3,
      ackedAtKill,
      resentMessages: resent,
      clientOutagesMs: outages,
      reconnects: members.map((m) => m.reconnects),
    });
  });

  it('stale owner (SIGSTOP/SIGCONT): its pending and new appends are refused, clients move, no fork, its late snapshot changes nothing', async () => {
    await bothGatewaysUp();
    const [alice, bob, carol] = await Promise.all([api.register('stale_a'), api.register('stale_b'), api.register('stale_c')]);
    const room = await api.createRoom(alice!.token, 'stale owner');
    // alice sends continuously; carol is another client of the frozen owner whose sends are
    // issued while it is frozen (raw, no timeout of her own); bob arrives after the takeover.
    const a = client(alice!, room.id, 'stale-alice', { ackTimeoutMs: 3_000 });
    const c = client(carol!, room.id, 'stale-carol');
    await a.connect();
    await c.connect();
    const oldOwner = a.gatewayId!;
    const newOwner = stack.gateways.find((g) => g.id !== oldOwner)!.id;
    expect(c.gatewayId).toBe(oldOwner);

    // Traffic and a snapshot of the old owner's epoch.
    await a.sendMany('a-before', 60, 3);
    const epochBefore = (await roomRow(pool, room.id)).epoch;
    await waitFor('a snapshot by the old owner', async () => (await snapshotsOf(pool, room.id)).some((s) => s.epoch === epochBefore && s.seq >= 50), 15_000);

    // Freeze the owner while alice has sends in flight.
    const traffic = a.sendMany('a-during', 40, 5);
    await waitFor('alice to be mid-traffic', async () => a.acks.length >= 65, 10_000, 1);
    const frozen = stack.gateway(oldOwner).proc;
    frozen.signal('SIGSTOP');
    // carol's sends reach the frozen process' socket buffer and wait there.
    const carolRaw = ['c-frozen-0', 'c-frozen-1', 'c-frozen-2'].map((id) => c.sendOnce(id, `sent to a frozen owner: ${id}`, 30_000));
    await sleep(500); // a statement the owner had already sent to Postgres finishes there
    const atFreeze = await roomRow(pool, room.id);
    expect(atFreeze.epoch).toBe(epochBefore);
    const takeoverHead = atFreeze.head_seq;

    let contAt = 0;
    try {
      // After the TTL the API gives the room to the other gateway; bob connects there and sends.
      await waitForGatewayStatus(api, admin, oldOwner, 'gone', 15_000);
      const b = client(bob!, room.id, 'stale-bob', { startAfterSeq: 'latest' });
      await b.connect();
      expect(b.gatewayId).toBe(newOwner);
      const bobAcks = await b.sendMany('b-new', 10, 2);
      expect(bobAcks.every((ack) => ack.gatewayId === newOwner)).toBe(true);
      await traffic; // alice's frozen sends timed out and went through the recipe to the new owner
      expect(a.gatewayId).toBe(newOwner);
      const newEpoch = (await roomRow(pool, room.id)).epoch;
      expect(newEpoch).toBeGreaterThan(epochBefore);
      // The new owner snapshots past the takeover head.
      await waitFor('a snapshot by the new owner', async () => (await snapshotsOf(pool, room.id)).some((s) => s.epoch === newEpoch && s.seq > takeoverHead), 15_000);
      const staleRowsBefore = (await snapshotsOf(pool, room.id)).filter((s) => s.epoch < newEpoch).map((s) => `${s.seq}@${s.epoch}`);

      // Wake the stale owner up.
      frozen.signal('SIGCONT');
      contAt = Date.now();
      const carolOutcomes = await Promise.all(carolRaw);
      await sleep(2_000); // its timers (snapshot sweep, ownership watch, heartbeat) run now
      expect(frozen.running).toBe(true);

      // Nothing the frozen owner was asked to write was acknowledged as written.
      for (const outcome of carolOutcomes) {
        if (typeof outcome === 'string') expect(['timeout', 'disconnected']).toContain(outcome);
        else expect(outcome).toEqual({ ok: false, error: { code: expect.stringMatching(/^(room_moved|unavailable)$/), message: expect.any(String) } });
      }
      for (const m of [a, c]) {
        // Acks of the old owner are for events it committed before the takeover, never later ones
        // (one may arrive after SIGCONT: committed at the database while the owner was frozen).
        expect(m.acks.filter((ack) => ack.gatewayId === oldOwner && ack.seq > takeoverHead)).toEqual([]);
      }
      // alice had sends in flight when the owner froze: they timed out and were resent.
      expect(a.attempts.some((t) => t.gatewayId === oldOwner && t.clientMsgId.startsWith('a-during') && t.outcome === 'timeout')).toBe(true);
      // carol was told (room:moved) or dropped by the stale owner, and came back on the new one.
      expect(c.moved.some((m) => m.gatewayId === oldOwner) || c.losses.some((l) => l.gatewayId === oldOwner && l.at >= contAt)).toBe(true);
      await waitFor('carol on the new owner', async () => c.gatewayId === newOwner, 20_000);
      // The recipe: her unacknowledged messages are sent again, with the same ids.
      for (const id of ['c-frozen-0', 'c-frozen-1', 'c-frozen-2']) {
        const ack = await c.send(id, `sent to a frozen owner: ${id}`);
        expect(ack.gatewayId).toBe(newOwner);
      }
      await a.send('a-after', 'after the stale owner woke up');

      // No fork: gap-free, exactly the acknowledged messages, each once at its acked seq.
      const log = await logOf(pool, room.id);
      const participants = [a, b, c].map((m) => ({ userId: m.user.user.id, acks: m.acks }));
      expect(compareLogWithAcks(log, participants)).toEqual([]);
      // Every message after the takeover head was acknowledged by the new owner (a member.joined
      // there is a client's first join, which has no ack of its own).
      const ackBySeq = new Map([a, b, c].flatMap((m) => m.acks.map((ack) => [ack.seq, ack] as const)));
      const messagesAfter = log.filter((r) => r.seq > takeoverHead && r.type !== 'member.joined');
      expect(messagesAfter.map((r) => [r.seq, ackBySeq.get(r.seq)?.gatewayId])).toEqual(messagesAfter.map((r) => [r.seq, newOwner]));
      for (const m of [a, b, c]) {
        await m.caughtUp(log.length);
        expect(compareClientWithLog(m, log)).toEqual([]);
      }

      // The late snapshot of the stale owner: refused, no row of an older epoch appeared.
      await waitFor('the new owner to snapshot the head', async () => (await snapshotsOf(pool, room.id)).at(-1)?.seq === log.length, 15_000);
      const rows = await snapshotsOf(pool, room.id);
      expect(rows.filter((s) => s.epoch < newEpoch && s.seq > takeoverHead)).toEqual([]);
      expect(rows.filter((s) => s.epoch < newEpoch).map((s) => `${s.seq}@${s.epoch}`)).toEqual(staleRowsBefore);
      const newest = rows[rows.length - 1]!;
      expect(newest.epoch).toBe(newEpoch);
      // The newest snapshot object is intact and holds that seq (not overwritten by the stale owner).
      const object = await stack.s3!.client().send(new GetObjectCommand({ Bucket: stack.s3!.bucket, Key: newest.key }));
      const documentText = gunzipSync(Buffer.from(await object.Body!.transformToByteArray())).toString('utf8');
      expect(JSON.parse(documentText).checksum).toBe(newest.checksum);
      expect(decodeSnapshotDocument(documentText, { roomId: room.id, seq: newest.seq }).headSeq).toBe(newest.seq);

      // The operator's view agrees.
      const view = await adminRoom(api, admin, room.id);
      expect(view.owner).toEqual({ gatewayId: newOwner, epoch: newEpoch });
      expect(view.headSeq).toBe(log.length);
      expect(view.snapshot).not.toBeNull();
      expect(view.snapshot!.seq).toBe(newest.seq);
      expect(view.snapshot!.seq).toBeLessThanOrEqual(view.headSeq);

      const staleLines = frozen
        .logs()
        .split('\n')
        .filter((line) => /snapshot|dropping|stale|fenced|moved/i.test(line))
        .slice(-6);
      console.log(`[diag] stale owner ${oldOwner} after SIGCONT:\n${staleLines.join('\n')}`);
      const aliceOutage = a.outages.find((o) => o.fromGateway === oldOwner);
      reportFigure('failover', 'SIGSTOP: frozen owner replaced, alice served again after', (aliceOutage?.ms ?? NaN) / 1000, 's', {
        ackTimeoutMs: 3000,
        gatewayTtlSeconds: 3,
        takeoverHead,
        epochs: [epochBefore, newEpoch],
        carolRawOutcomes: carolOutcomes.map((o) => (typeof o === 'string' ? o : o.ok ? 'ok' : o.error.code)),
      });
    } catch (err) {
      console.log(stack.logs());
      throw err;
    } finally {
      if (!contAt) frozen.signal('SIGCONT');
    }
  });

  it('stale owner with stale routing (Redis still names it when it wakes): the epoch fence alone refuses its appends, the log stays linear', async () => {
    await bothGatewaysUp();
    const [alice, bob] = await Promise.all([api.register('fence_a'), api.register('fence_b')]);
    const room = await api.createRoom(alice!.token, 'fence');
    // alice waits long for her acks, so her sends are still with the frozen owner when it wakes.
    const a = client(alice!, room.id, 'fence-alice', { ackTimeoutMs: 20_000 });
    await a.connect();
    const oldOwner = a.gatewayId!;
    const newOwner = stack.gateways.find((g) => g.id !== oldOwner)!.id;
    await a.sendMany('f-before', 20, 5);

    const traffic = a.sendMany('f-during', 20, 5);
    await waitFor('alice to be mid-traffic', async () => a.acks.length >= 22, 10_000, 1);
    const frozen = stack.gateway(oldOwner).proc;
    frozen.signal('SIGSTOP');
    // Sends that reach the frozen process' socket and wait there: appends it will attempt.
    const frozenSends = ['f-frozen-0', 'f-frozen-1'].map((id) => a.sendOnce(id, `sent to the frozen owner: ${id}`, 20_000));
    const redis = new Redis(baseEnv().REDIS_URL!);
    let contAt = 0;
    try {
      await sleep(500);
      const atFreeze = await roomRow(pool, room.id);
      const takeoverHead = atFreeze.head_seq;
      await waitForGatewayStatus(api, admin, oldOwner, 'gone', 15_000);
      // bob's connection makes the other gateway take the room (a new epoch)...
      const b = client(bob!, room.id, 'fence-bob', { startAfterSeq: 'latest' });
      await b.connect();
      expect(b.gatewayId).toBe(newOwner);
      expect((await roomRow(pool, room.id)).epoch).toBe(atFreeze.epoch + 1);
      // ...and then routing loses that update (e.g. a Redis failover): it names the old owner
      // again, so nothing but the Postgres fence stops the old owner from writing when it wakes.
      await redis.set(keys.roomOwner(room.id), oldOwner);

      frozen.signal('SIGCONT');
      contAt = Date.now();
      const frozenOutcomes = await Promise.all(frozenSends);
      await traffic;
      for (const id of ['f-frozen-0', 'f-frozen-1']) await a.send(id, `sent to the frozen owner: ${id}`);
      const bobAcks = await b.sendMany('f-bob', 5, 1);
      await a.send('f-last', 'after everything');

      // The frozen owner's appends were refused by the fence: not acknowledged, not written.
      for (const outcome of frozenOutcomes) {
        if (typeof outcome === 'string') expect(outcome).toBe('disconnected');
        else expect(outcome).toEqual({ ok: false, error: { code: expect.stringMatching(/^(room_moved|unavailable)$/), message: expect.any(String) } });
      }
      // On the connection it had before the freeze, the old owner acknowledged nothing past the
      // takeover head (a late ok for an event committed before the takeover is fine).
      expect(a.acks.filter((ack) => ack.connection === 1 && ack.seq > takeoverHead)).toEqual([]);
      // It learnt from Postgres that it lost the room (a refused append, or its snapshot refused as
      // stale) and told alice: an error ack, room:moved or a disconnect on that connection.
      expect(
        a.attempts.some((t) => t.connection === 1 && t.at >= contAt && t.outcome === 'error') ||
          a.moved.some((m) => m.gatewayId === oldOwner && m.at >= contAt) ||
          a.losses.some((l) => l.gatewayId === oldOwner && l.at >= contAt),
      ).toBe(true);

      // Whatever the routing said, the log is linear and exactly what was acknowledged.
      const log = await logOf(pool, room.id);
      expect(compareLogWithAcks(log, [a, b].map((m) => ({ userId: m.user.user.id, acks: m.acks })))).toEqual([]);
      expect(bobAcks).toHaveLength(5);
      for (const m of [a, b]) {
        await m.caughtUp(log.length);
        expect(compareClientWithLog(m, log)).toEqual([]);
      }
      expect(a.gatewayId).toBe(b.gatewayId);
      const woken = a.attempts.filter((t) => t.connection === 1 && t.at >= contAt).map((t) => (t.outcome === 'error' ? t.code : t.outcome));
      reportFigure('failover', 'fence: answers of the woken stale owner on its old connection', woken.length, 'answers', {
        outcomes: woken,
        takeoverHead,
        epochs: [atFreeze.epoch, (await roomRow(pool, room.id)).epoch],
        finalGateway: a.gatewayId,
        movedNotices: a.moved.filter((m) => m.at >= contAt).map((m) => `${m.gatewayId}: ${m.reason}`),
      });
    } catch (err) {
      console.log(stack.logs());
      throw err;
    } finally {
      if (!contAt) frozen.signal('SIGCONT');
      redis.disconnect();
    }
  });
});
