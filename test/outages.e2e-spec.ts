/**
 * Issue 3, acceptance 5 and 6: the object store down, a corrupt snapshot, and Postgres down (for
 * the gateways, through a TCP proxy the test cuts). Real processes, Postgres, Redis and S3
 * server; clients follow the README's reconnect recipe. Timings are printed, never asserted.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket as NetSocket } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Pool } from 'pg';
import { SNAPSHOT_FORMAT } from '../libs/domain/src';
import { ApiClient, type TestUser } from './support/client';
import { compareClientWithLog, compareLogWithAcks, logOf, makeAdmin, roomRow, sleep, snapshotsOf, waitForGatewayStatus } from './support/fault';
import { reportFigure } from './support/figures';
import { baseEnv, waitFor } from './support/processes';
import { type AckRecord, ResilientClient } from './support/resilient-client';
import { TestStack } from './support/stack';

/** Listens where the S3 server was, accepts connections and never answers (a wedged or partitioned store). */
class BlackHole {
  connections = 0;
  private readonly held = new Set<NetSocket>();
  private constructor(private readonly server: NetServer) {}

  static async listen(port: number): Promise<BlackHole> {
    let self: BlackHole | undefined;
    const server = createNetServer((socket) => {
      self!.connections += 1;
      self!.held.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => self!.held.delete(socket));
    });
    self = new BlackHole(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return self;
  }

  async close(): Promise<void> {
    for (const socket of this.held) socket.destroy();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Listens where the S3 server was and answers every request with a 503 S3 error document. */
class S3ErrorServer {
  requests = 0;
  private closed = false;
  private constructor(private readonly server: Server) {}

  static async listen(port: number): Promise<S3ErrorServer> {
    let self: S3ErrorServer | undefined;
    const server = createServer((req, res) => {
      self!.requests += 1;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml', 'x-amz-request-id': 'test' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>test: S3 answering errors</Message><RequestId>test</RequestId></Error>');
    });
    self = new S3ErrorServer(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return self;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

jest.setTimeout(180_000);

describe('outages (fault e2e)', () => {
  let stack: TestStack;
  let api: ApiClient;
  let pool: Pool;
  let admin: TestUser;
  const clients: ResilientClient[] = [];

  beforeAll(async () => {
    stack = await TestStack.start({
      name: 'outage',
      gateways: 2,
      pgProxy: true,
      env: { RATE_LIMIT_MSG_PER_SEC: '0', SNAPSHOT_EVERY_EVENTS: '20', SNAPSHOT_INTERVAL_MS: '500' },
    });
    api = new ApiClient(stack.apiUrl);
    pool = new Pool({ connectionString: baseEnv().DATABASE_URL, max: 2 });
    admin = await makeAdmin(stack, api);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    stack.pgProxy?.restore();
    if (stack.s3 && !stack.s3.running) await stack.s3.start();
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) c.close();
    await pool?.end();
    await stack?.stop();
  });

  async function bothGatewaysUp(): Promise<void> {
    for (const gw of stack.gateways) {
      if (!gw.proc.running) await stack.startGateway(gw.id);
      await waitForGatewayStatus(api, admin, gw.id, 'active');
    }
  }

  function client(user: TestUser, roomId: string, name: string): ResilientClient {
    const c = new ResilientClient(api, user, roomId, { name });
    clients.push(c);
    return c;
  }

  /**
   * What a correctly resumed room answers, checked through the public protocol only: the join
   * after the resume saw the head, a resent old id answers its first result, a deleted message
   * stays deleted, the next send is head+1 and a live message can still be edited.
   */
  async function expectResumedState(c: ResilientClient, early: AckRecord[], deletedSeq: number, head: number, via: string): Promise<void> {
    expect(c.gatewayId).toBe(via);
    expect(c.joins.at(-1)).toMatchObject({ gatewayId: via, headSeq: head });
    const again = await c.send(early[0]!.clientMsgId, 'resend of the first message');
    expect([again.seq, again.ts]).toEqual([early[0]!.seq, early[0]!.ts]);
    const editDeleted = await c.edit(deletedSeq, 'edit of a deleted message');
    expect(editDeleted.ok ? 'ok' : editDeleted.error.code).toBe('not_found');
    const next = await c.send(`next-after-${head}`, 'first new message after the resume');
    expect(next.seq).toBe(head + 1);
    const editLive = await c.edit(early[2]!.seq, `edited after the resume on ${via}`);
    expect(editLive.ok ? editLive.seq : editLive.error.code).toBe(head + 2);
  }

  /** A room with 30 messages (the second one deleted) and a snapshot of it. */
  async function roomWithHistory(name: string): Promise<{ user: TestUser; roomId: string; c: ResilientClient; early: AckRecord[]; deletedSeq: number }> {
    const user = await api.register(name.replace(/\W/g, '').slice(0, 12));
    const room = await api.createRoom(user.token, name);
    const c = client(user, room.id, `${name}-client`);
    await c.connect();
    const early = await c.sendMany('e', 30, 5);
    const deleted = await c.remove(early[1]!.seq);
    if (!deleted.ok) throw new Error(JSON.stringify(deleted));
    await waitFor('a snapshot of the room', async () => (await snapshotsOf(pool, room.id)).length > 0, 15_000);
    return { user, roomId: room.id, c, early, deletedSeq: early[1]!.seq };
  }

  it('Postgres down: sends are answered unavailable and never acknowledged; after it returns every message is in the log exactly once', async () => {
    await bothGatewaysUp();
    const user = await api.register('pgdown');
    const room = await api.createRoom(user.token, 'postgres outage');
    const c = client(user, room.id, 'pg-client');
    await c.connect();
    const owner = stack.gateway(c.gatewayId!);
    await c.sendMany('f-before', 10, 5);
    const headBefore = (await roomRow(pool, room.id)).head_seq;
    expect(headBefore).toBe(11);

    const proxy = stack.pgProxy!;
    proxy.cut();
    const cutAt = Date.now();
    let restoreAt = 0;
    try {
      // Exactly what a client sees: "not written, resend".
      const raw = await c.sendOnce('f-raw', 'sent while postgres is down', 8_000);
      expect(raw).toEqual({ ok: false, error: { code: 'unavailable', message: expect.any(String) } });
      // The recipe keeps resending (same ids) while Postgres stays away.
      const during = c.sendMany('f-cut', 10, 5);
      await sleep(3_000);
      const ready = await fetch(`${owner.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(JSON.stringify(await ready.json())).toMatch(/postgres/);
      const attemptsDuringCut = c.attempts.filter((t) => t.sentAt >= cutAt);
      expect(attemptsDuringCut.length).toBeGreaterThanOrEqual(11);
      expect(attemptsDuringCut.filter((t) => !(t.outcome === 'error' && t.code === 'unavailable'))).toEqual([]);
      expect((await roomRow(pool, room.id)).head_seq).toBe(headBefore);

      proxy.restore();
      restoreAt = Date.now();
      const acks: AckRecord[] = await during;
      acks.push(await c.send('f-raw', 'sent while postgres is down'));
      // Nothing was acknowledged before Postgres came back.
      expect(c.attempts.filter((t) => t.outcome === 'ok' && t.sentAt >= cutAt && t.at < restoreAt)).toEqual([]);
      expect(acks.every((ack) => ack.at >= restoreAt)).toBe(true);

      const log = await logOf(pool, room.id);
      expect(log.map((r) => r.seq)).toEqual(Array.from({ length: 22 }, (_, i) => i + 1));
      expect(compareLogWithAcks(log, [{ userId: user.user.id, acks: c.acks }])).toEqual([]);
      await c.caughtUp(22);
      expect(compareClientWithLog(c, log)).toEqual([]);
      expect((await fetch(`${owner.url}/health/ready`)).status).toBe(200);

      const firstOk = Math.min(...acks.map((a) => a.at));
      reportFigure('outages', 'Postgres back: first send acknowledged after restore', (firstOk - restoreAt) / 1000, 's', {
        outageS: (restoreAt - cutAt) / 1000,
        unavailableAnswers: attemptsDuringCut.length,
        reconnects: c.reconnects,
        proxy: proxy.stats,
      });
    } catch (err) {
      console.log(stack.logs());
      throw err;
    } finally {
      if (!restoreAt) proxy.restore();
    }
  });

  it('Postgres cut in the middle of traffic: every send ends acknowledged once, nothing sent during the outage is acknowledged before it ends', async () => {
    await bothGatewaysUp();
    const users = await Promise.all([0, 1, 2].map((i) => api.register(`pgload${i}`)));
    const room = await api.createRoom(users[0]!.token, 'postgres cut under load');
    const members = users.map((u, i) => client(u, room.id, `pgload-${i}`));
    await Promise.all(members.map((m) => m.connect()));
    const proxy = stack.pgProxy!;
    let cutAt = 0;
    let restoreAt = 0;
    try {
      const traffic = Promise.all(members.map((m, i) => m.sendMany(`p${i}`, 150, 8)));
      await waitFor('traffic to be under way', async () => members.reduce((n, m) => n + m.acks.length, 0) >= 150, 20_000, 1);
      proxy.cut();
      cutAt = Date.now();
      await sleep(2_000);
      proxy.restore();
      restoreAt = Date.now();
      await traffic;

      for (const m of members) {
        expect(m.acks).toHaveLength(150);
        expect(m.attempts.filter((t) => t.outcome === 'ok' && t.sentAt >= cutAt && t.at < restoreAt)).toEqual([]);
      }
      const log = await logOf(pool, room.id);
      expect(compareLogWithAcks(log, members.map((m) => ({ userId: m.user.user.id, acks: m.acks })))).toEqual([]);
      // 1 room.created + 2 member.joined (the two who did not create the room) + 450 sends.
      expect(log).toHaveLength(453);
      for (const m of members) {
        await m.caughtUp(453);
        expect(compareClientWithLog(m, log)).toEqual([]);
      }
      const unavailable = members.reduce((n, m) => n + m.attempts.filter((t) => t.code === 'unavailable').length, 0);
      const other = members.flatMap((m) => m.attempts.filter((t) => t.sentAt >= cutAt && t.at < restoreAt && t.code !== 'unavailable').map((t) => t.outcome));
      reportFigure('outages', 'Postgres cut under load: unavailable answers during a 2 s cut (3 clients x 8 in flight)', unavailable, 'answers', {
        otherOutcomesDuringCut: other,
        reconnects: members.map((m) => m.reconnects),
      });
    } catch (err) {
      console.log(stack.logs());
      throw err;
    } finally {
      if (!restoreAt) proxy.restore();
    }
  });

  it('S3 answering errors (503 on every request): sends go on, a resume falls back to the log, snapshots resume when S3 is healthy again', async () => {
    await bothGatewaysUp();
    const { user, roomId, c, early, deletedSeq } = await roomWithHistory('s3 errors');
    const first = c.gatewayId!;
    const second = stack.gateways.find((g) => g.id !== first)!.id;
    const s3 = stack.s3!;

    // The S3 endpoint answers, but only with errors.
    await s3.stop();
    const failing = await S3ErrorServer.listen(s3.port);
    try {
      await sleep(300);
      const rowsBefore = (await snapshotsOf(pool, roomId)).map((r) => r.seq);
      const whileFailing = await c.sendMany('e-err', 30, 5);
      expect(whileFailing.every((ack) => ack.attempts === 1 && ack.gatewayId === first)).toBe(true);
      await sleep(1_500);
      expect((await snapshotsOf(pool, roomId)).map((r) => r.seq)).toEqual(rowsBefore);
      expect(c.losses).toEqual([]);
      const head = (await roomRow(pool, roomId)).head_seq;

      // The owner dies; the other gateway cannot read any snapshot and replays the log.
      const requestsBefore = failing.requests;
      await stack.killGateway(first);
      const killedAt = Date.now();
      await waitFor('the client on the other gateway', async () => c.gatewayId === second, 30_000);
      await expectResumedState(c, early, deletedSeq, head, second);
      expect(failing.requests).toBeGreaterThan(requestsBefore); // the resume did ask S3 (and got errors)
      const servedAt = c.acks.find((a) => a.gatewayId === second && a.at >= killedAt)!.at;

      // S3 healthy again on the same port: the new owner's snapshot goes through.
      const epochNow = (await roomRow(pool, roomId)).epoch;
      await failing.close();
      await s3.start();
      const backAt = Date.now();
      await waitFor('a snapshot by the new owner once S3 is healthy', async () => (await snapshotsOf(pool, roomId)).some((r) => r.epoch === epochNow), 45_000, 100);
      const log = await logOf(pool, roomId);
      expect(compareLogWithAcks(log, [{ userId: user.user.id, acks: c.acks }], 2)).toEqual([]);
      reportFigure('outages', 'S3 answering 503: resume from the log alone, client served again after SIGKILL', (servedAt - killedAt) / 1000, 's', {
        s3Requests: failing.requests,
        snapshotAfterHealthyS: (Date.now() - backAt) / 1000,
      });
    } catch (err) {
      console.log(stack.logs());
      throw err;
    } finally {
      await failing.close();
    }
  });

  it('S3 hanging (accepts connections, never answers): sends go on, a resume falls back to the log, a drain still exits 0', async () => {
    await bothGatewaysUp();
    const { user, roomId, c, early, deletedSeq } = await roomWithHistory('s3 hang');
    const first = c.gatewayId!;
    const second = stack.gateways.find((g) => g.id !== first)!.id;
    const s3 = stack.s3!;

    await s3.stop();
    const hole = await BlackHole.listen(s3.port);
    try {
      const whileHanging = await c.sendMany('e-hang', 30, 5);
      expect(whileHanging.every((ack) => ack.attempts === 1 && ack.gatewayId === first)).toBe(true);
      const head = (await roomRow(pool, roomId)).head_seq;

      // The owner dies: the other gateway must give up on the snapshot and replay the log.
      await stack.killGateway(first);
      const killedAt = Date.now();
      await waitFor('the client on the other gateway', async () => c.gatewayId === second, 40_000);
      await expectResumedState(c, early, deletedSeq, head, second);
      const servedAt = c.acks.find((a) => a.gatewayId === second && a.at >= killedAt)!.at;

      // SIGTERM drains the new owner: its final snapshot cannot be written, yet it must finish.
      // (40 s is a liveness bound, far above the S3 timeouts, not a performance figure.)
      const stoppedAt = Date.now();
      const exit = await stack.gateway(second).proc.stop(40_000);
      const drainMs = Date.now() - stoppedAt;
      expect(exit).toEqual({ code: 0, signal: null });
      const log = await logOf(pool, roomId);
      expect(compareLogWithAcks(log, [{ userId: user.user.id, acks: c.acks }], 2)).toEqual([]);
      reportFigure('outages', 'S3 hanging: resume from the log alone, client served again after SIGKILL', (servedAt - killedAt) / 1000, 's', {
        drainWithHangingS3S: drainMs / 1000,
        heldConnections: hole.connections,
      });
    } catch (err) {
      console.log(stack.logs());
      console.log(`[diag] ${c.name} recovery: ${c.recoveryErrors.slice(-6).join(' | ')}`);
      throw err;
    } finally {
      await hole.close();
    }
  });

  it('S3 down: sends go on, a resume falls back to the log, snapshots retry once S3 is back; a corrupt snapshot is skipped', async () => {
    await bothGatewaysUp();
    const { user, roomId, c, early, deletedSeq } = await roomWithHistory('s3 outage');
    const room = { id: roomId };
    const first = c.gatewayId!;
    const second = stack.gateways.find((g) => g.id !== first)!.id;
    const s3 = stack.s3!;

    try {
      // --- S3 goes away: sends keep being acknowledged, no snapshot can be recorded.
      await s3.stop();
      const downAt = Date.now();
      await sleep(300); // a snapshot whose upload finished just before the stop records its row
      const rowsAtStop = (await snapshotsOf(pool, room.id)).map((s) => s.seq);
      const whileDown = await c.sendMany('e-down', 30, 5);
      expect(whileDown.every((ack) => ack.attempts === 1 && ack.gatewayId === first)).toBe(true);
      await sleep(1_500);
      expect((await snapshotsOf(pool, room.id)).map((s) => s.seq)).toEqual(rowsAtStop);
      const headDown = (await roomRow(pool, room.id)).head_seq;
      expect(headDown).toBe(whileDown.at(-1)!.seq);

      // The S3 outage alone moved nothing: the client is still served by the same gateway.
      expect(c.losses).toEqual([]);
      expect(c.gatewayId).toBe(first);

      // The owner dies while S3 is down: the other gateway resumes the room from the log alone.
      await stack.killGateway(first);
      const killedAt = Date.now();
      await waitFor('the client on the other gateway', async () => c.gatewayId === second, 30_000);
      await expectResumedState(c, early, deletedSeq, headDown, second);
      const servedAt = c.acks.find((a) => a.gatewayId === second && a.at >= killedAt)!.at;


      // S3 comes back on the same port: the new owner's snapshot retries succeed.
      const epochNow = (await roomRow(pool, room.id)).epoch;
      await s3.start();
      const backAt = Date.now();
      await waitFor('a snapshot by the new owner after S3 returned', async () => (await snapshotsOf(pool, room.id)).some((s) => s.epoch === epochNow), 45_000, 100);
      const snapshotAfterMs = Date.now() - backAt;
      reportFigure('outages', 'S3 down: resume from the log alone, client served again after SIGKILL', (servedAt - killedAt) / 1000, 's', {
        s3DownForS: (backAt - downAt) / 1000,
        losses: c.losses.map((l) => `${l.gatewayId}: ${l.reason} at +${l.at - downAt} ms`),
      });
      reportFigure('outages', 'S3 back: new snapshot row recorded after restart', snapshotAfterMs / 1000, 's');

      // --- Corrupt snapshots: the newest is garbage, the one before has a wrong checksum.
      await bothGatewaysUp();
      const head = (await roomRow(pool, room.id)).head_seq;
      await waitFor('a snapshot at the head', async () => (await snapshotsOf(pool, room.id)).at(-1)?.seq === head, 15_000);
      const rows = await snapshotsOf(pool, room.id);
      expect(rows.length).toBeGreaterThanOrEqual(2);
      const [older, newest] = rows.slice(-2) as [(typeof rows)[0], (typeof rows)[0]];
      const s3client = s3.client();
      await s3client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: newest.key, Body: Buffer.from('this is not a snapshot \u0000\u00ff garbage') }));
      const olderObject = await s3client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: older.key }));
      const document = JSON.parse(gunzipSync(Buffer.from(await olderObject.Body!.transformToByteArray())).toString('utf8'));
      // Same shape, same stored checksum, different state (every message deleted: format 5's
      // `deleted` column, one byte a message, all 1): only the checksum can tell. Folding it
      // would make the edit of a live message fail.
      expect(document.format).toBe(SNAPSHOT_FORMAT);
      const deleted = Buffer.from(document.state.messages.deleted, 'base64');
      expect(deleted.length).toBeGreaterThan(0);
      document.state.messages.deleted = Buffer.alloc(deleted.length, 1).toString('base64');
      await s3client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: older.key, Body: gzipSync(JSON.stringify(document)) }));
      s3client.destroy();

      const ownerNow = c.gatewayId!;
      const other = stack.gateways.find((g) => g.id !== ownerNow)!.id;
      await stack.killGateway(ownerNow);
      await waitFor('the client on the other gateway again', async () => c.gatewayId === other, 30_000);
      await expectResumedState(c, early, deletedSeq, head, other);

      const log = await logOf(pool, room.id);
      // Besides the acknowledged sends: one delete and one edit per resume.
      expect(compareLogWithAcks(log, [{ userId: user.user.id, acks: c.acks }], 3)).toEqual([]);
      await c.caughtUp(log.length);
      expect(compareClientWithLog(c, log)).toEqual([]);
      const skipped = stack
        .gateway(other)
        .proc.logs()
        .split('\n')
        .filter((line) => /snapshot/i.test(line))
        .slice(-4);
      console.log(`[diag] snapshot lines of ${other} after the corrupt-snapshot resume:\n${skipped.join('\n')}`);
    } catch (err) {
      console.log(stack.logs());
      throw err;
    }
  });
});
