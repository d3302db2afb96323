/**
 * Room log exports, the worker and the admin CLI end to end (issue 4, acceptance 3, 4 and 5):
 * real API, gateway and worker processes from dist/, real Postgres, Redis and an S3 server.
 *
 * Big rooms are written straight into the log by SQL (generate_series), as a long-lived room's
 * history would be; the export must equal `GET /rooms/:id/events` line for line. Memory and
 * durations are reported as figures, never asserted.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Pool } from 'pg';
import type { EventEnvelope } from '../libs/domain/src';
import { ApiClient, type TestUser } from './support/client';
import { reportFigure } from './support/figures';
import type { ManagedProcess } from './support/processes';
import { waitFor } from './support/processes';
import { TestStack } from './support/stack';
import { memoryOf, runCli, startWorker } from './support/worker';

jest.setTimeout(240_000);

const SUITE = 'exports';
const BIG = 200_000;
const SMALL = 20_000;
const ADMIN_PASSWORD = 'admin-password-123';

interface ExportView {
  id: string;
  roomId: string;
  status: 'queued' | 'running' | 'done' | 'failed';
  events: number;
  bytes: number;
  createdAt: string;
  finishedAt: string | null;
}

/**
 * Writes a room with `n` events into the log in one statement: every event type, actors and
 * system events (null actor), client message ids on some, text with quotes, backslashes,
 * newlines and non-ASCII, plus 64 hex characters of md5 so gzip cannot shrink it to nothing
 * (the 200k room's file then needs a real multipart upload).
 */
const FILL_SQL = `
WITH r AS (
  INSERT INTO rooms (name, created_by, head_seq) VALUES ($1, $2, $4) RETURNING id, created_at
), e AS (
INSERT INTO room_events (room_id, seq, type, actor_id, actor_username, client_msg_id, data, created_at)
SELECT r.id, g,
  CASE WHEN g = 1 THEN 'room.created' WHEN g % 97 = 0 THEN 'message.edited' WHEN g % 89 = 0 THEN 'message.deleted' ELSE 'message.posted' END,
  CASE WHEN g % 13 = 0 AND g > 1 THEN NULL ELSE $2::uuid END,
  CASE WHEN g % 13 = 0 AND g > 1 THEN NULL ELSE $3 END,
  CASE WHEN g % 3 = 0 THEN 'c-' || g ELSE NULL END,
  CASE WHEN g = 1 THEN jsonb_build_object('name', $1::text)
       WHEN g % 97 = 0 THEN jsonb_build_object('seq', g - 1, 'text', 'edited "quoted" é ' || g)
       WHEN g % 89 = 0 THEN jsonb_build_object('seq', g - 2)
       ELSE jsonb_build_object('text', 'message ' || g || E' \\\\ back\\nslash ü ' || md5(g::text) || md5((g * 7)::text)) END,
  r.created_at + make_interval(secs => g / 1000.0)
FROM r, generate_series(1, $4::int) AS g
)
SELECT id AS room_id FROM r`;

describe('room log exports, worker and admin CLI (e2e)', () => {
  let stack: TestStack;
  let api: ApiClient;
  let pool: Pool;
  let admin: TestUser;
  let user: TestUser;
  let bigRoom: string;
  let smallRoom: string;
  const workers: ManagedProcess[] = [];
  /** Clean downloads, for the crash test and the CLI to compare against. */
  const clean = new Map<string, Buffer>();
  let scratch: string;

  beforeAll(async () => {
    stack = await TestStack.start({ name: SUITE, gateways: 1, env: { RATE_LIMIT_MSG_PER_SEC: '0', AUTH_RATE_LIMIT_PER_MIN: '0' } });
    api = new ApiClient(stack.apiUrl);
    pool = new Pool({ connectionString: stack.env().DATABASE_URL, max: 2 });
    const adminName = `admin_${randomBytes(4).toString('hex')}`;
    await stack.createAdmin(adminName, ADMIN_PASSWORD);
    admin = await api.login(adminName, ADMIN_PASSWORD);
    expect(admin.user.role).toBe('admin');
    user = await api.register('plain');
    const started = Date.now();
    bigRoom = await fillRoom('export big', BIG);
    smallRoom = await fillRoom('export small', SMALL);
    reportFigure(SUITE, 'SQL fill of 220k events', Date.now() - started, 'ms');
    scratch = mkdtempSync(join(tmpdir(), 'durable-rooms-exports-'));
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await dropRooms([bigRoom, smallRoom]).catch(() => undefined);
    await pool?.end();
    await stack?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  async function fillRoom(name: string, n: number): Promise<string> {
    const { rows } = await pool.query<{ room_id: string }>(FILL_SQL, [name, admin.user.id, admin.user.username, n]);
    return rows[0]!.room_id;
  }

  async function dropRooms(ids: Array<string | undefined>): Promise<void> {
    const present = ids.filter((id): id is string => Boolean(id));
    if (present.length > 0) await pool.query('DELETE FROM rooms WHERE id = ANY($1::uuid[])', [present]);
  }

  async function worker(name: string, extra: Record<string, string> = {}): Promise<ManagedProcess> {
    const w = await startWorker(name, stack.env({ COLD_SNAPSHOT_SWEEP_MS: '0', ...extra }));
    workers.push(w);
    return w;
  }

  async function requestExport(roomId: string, token = admin.token): Promise<ExportView> {
    const res = await api.request('POST', `/admin/rooms/${roomId}/exports`, { token, body: { format: 'ndjson' } });
    expect(res.status).toBe(202);
    expect(res.body.export).toEqual({ id: expect.any(String), roomId, status: 'queued' });
    return res.body.export;
  }

  async function exportView(id: string): Promise<ExportView> {
    const res = await api.request<{ export: ExportView }>('GET', `/admin/exports/${id}`, { token: admin.token });
    expect(res.status).toBe(200);
    return res.body.export;
  }

  async function waitDone(id: string, timeoutMs = 60_000): Promise<ExportView> {
    return waitFor(
      `export ${id} to be done`,
      async () => {
        const view = await exportView(id);
        if (view.status === 'failed') throw new Error(`export failed: ${JSON.stringify(view)}\n${workers.map((w) => w.logs()).join('\n')}`);
        return view.status === 'done' ? view : undefined;
      },
      timeoutMs,
      50,
    ).catch(async (err: Error) => {
      const view = await exportView(id).catch(() => undefined);
      throw new Error(`${err.message}; export ${JSON.stringify(view)}\n${workerLogs()}`);
    });
  }

  function workerLogs(): string {
    return workers.map((w) => `----- ${w.name} (pid ${w.pid}, ${w.running ? 'running' : 'exited'}) -----\n${w.logs().slice(-6000)}`).join('\n');
  }

  async function download(id: string): Promise<{ body: Buffer; headers: Headers }> {
    const res = await fetch(`${stack.apiUrl}/admin/exports/${id}/download`, { headers: { authorization: `Bearer ${admin.token}` } });
    expect(res.status).toBe(200);
    return { body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
  }

  /** The export's lines against `GET /rooms/:id/events`, page by page, JSON.stringify of each envelope. */
  async function expectSameAsHistory(roomId: string, gz: Buffer, head: number): Promise<void> {
    const lines = gunzipSync(gz).toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(head);
    let after = 0;
    let compared = 0;
    const mismatches: string[] = [];
    for (;;) {
      const res = await api.request<{ events: EventEnvelope[]; headSeq: number }>('GET', `/rooms/${roomId}/events?after=${after}&limit=500`, {
        token: user.token,
      });
      expect(res.status).toBe(200);
      for (const event of res.body.events) {
        const line = lines[compared];
        if (line !== JSON.stringify(event) && mismatches.length < 3) mismatches.push(`seq ${event.seq}:\n  file: ${line}\n  api:  ${JSON.stringify(event)}`);
        compared += 1;
      }
      if (res.body.events.length < 500) break;
      after = res.body.events[res.body.events.length - 1]!.seq;
    }
    expect(mismatches).toEqual([]);
    expect(compared).toBe(head);
  }

  const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  it('(a) exports a 20k- and a 200k-event room that equal GET /rooms/:id/events line for line, with flat worker memory', async () => {
    const figures: Record<number, { peakMb: number; ms: number; bytes: number }> = {};
    for (const [roomId, head] of [
      [smallRoom, SMALL],
      [bigRoom, BIG],
    ] as const) {
      // A fresh worker per room, so each peak RSS (VmHWM) belongs to that export alone.
      const w = await worker(`worker-${head}`);
      const idle = memoryOf(w.pid);
      const started = Date.now();
      const requested = await requestExport(roomId);
      const done = await waitDone(requested.id);
      const ms = Date.now() - started;
      const peak = memoryOf(w.pid);
      expect(done).toMatchObject({ id: requested.id, roomId, status: 'done', events: head });
      expect(done.finishedAt).not.toBeNull();

      const { body, headers } = await download(requested.id);
      expect(headers.get('content-type')).toBe('application/gzip');
      expect(headers.get('content-length')).toBe(String(body.length));
      expect(headers.get('content-disposition')).toBe(`attachment; filename="room-${roomId}.ndjson.gz"`);
      expect(body.length).toBe(done.bytes);
      await expectSameAsHistory(roomId, body, head);
      clean.set(roomId, body);

      figures[head] = { peakMb: peak.peakRssKb / 1024, ms, bytes: body.length };
      reportFigure(SUITE, `worker peak RSS (VmHWM) exporting ${head} events`, peak.peakRssKb / 1024, 'MiB', {
        idleRssMiB: Math.round(idle.rssKb / 102.4) / 10,
        events: head,
        gzipBytes: body.length,
      });
      reportFigure(SUITE, `export of ${head} events, request to done`, ms, 'ms', { eventsPerSec: Math.round((head / ms) * 1000) });
      if (head === SMALL) expect((await w.stop()).code).toBe(0);
    }
    reportFigure(SUITE, 'worker peak RSS ratio, 200k vs 20k export', figures[BIG]!.peakMb / figures[SMALL]!.peakMb, 'x');
    // The 200k file is bigger than one 5 MiB part: the upload really was multipart.
    expect(figures[BIG]!.bytes).toBeGreaterThan(5 * 1024 * 1024);
  });

  it('(b) a worker killed mid-export (SIGKILL): another worker finishes it with a byte-identical file', async () => {
    const victim = workers.find((w) => w.running)!;
    const requested = await requestExport(bigRoom);
    const atKill = await waitFor(
      'the export to make progress',
      async () => {
        const view = await exportView(requested.id);
        return view.status === 'running' && view.events > 0 ? view : undefined;
      },
      30_000,
      20,
    );
    await victim.kill();
    const killedAt = Date.now();
    expect(atKill.events).toBeLessThan(BIG);
    expect((await exportView(requested.id)).status).not.toBe('done');

    await worker('worker-rescue');
    const done = await waitDone(requested.id, 60_000);
    reportFigure(SUITE, 'export finished by another worker after SIGKILL', Date.now() - killedAt, 'ms', { eventsAtKill: atKill.events });
    expect(done).toMatchObject({ status: 'done', events: BIG });
    const { body } = await download(requested.id);
    expect(body.length).toBe(clean.get(bigRoom)!.length);
    expect(sha256(body)).toBe(sha256(clean.get(bigRoom)!));
  });

  it('(b) a worker stopped mid-export (SIGTERM) hands the job back and exits 0; the next worker finishes it identically', async () => {
    const running = workers.find((w) => w.running)!;
    const requested = await requestExport(bigRoom);
    await waitFor('the export to make progress', async () => (await exportView(requested.id)).events > 0, 30_000, 20);
    const stoppedAt = Date.now();
    const exit = await running.stop();
    expect(exit.code).toBe(0);
    reportFigure(SUITE, 'worker SIGTERM mid-export to exit', Date.now() - stoppedAt, 'ms');
    expect(running.logs()).toMatch(/released at \d+\/200000 events/);
    expect((await exportView(requested.id)).status).toBe('queued');

    await worker('worker-next');
    const done = await waitDone(requested.id, 30_000);
    expect(done).toMatchObject({ status: 'done', events: BIG });
    expect(sha256((await download(requested.id)).body)).toBe(sha256(clean.get(bigRoom)!));
  });

  it('(d) CLI: gateways, export to a file equal to the API download, drain, and clear errors with exit codes', async () => {
    const env = stack.env();
    const gateways = await runCli(env, ['gateways']);
    expect(gateways.code).toBe(0);
    expect(gateways.output).toMatch(/ID\s+STATUS\s+ROOMS\s+CONNECTIONS\s+LAST SEEN/);
    expect(gateways.output).toMatch(new RegExp(`${SUITE}-gw-1\\s+active\\s+\\d+\\s+\\d+\\s+\\d{4}-`));

    const out = join(scratch, 'small.ndjson.gz');
    const exported = await runCli(env, ['export', smallRoom, '--out', out]);
    expect({ code: exported.code, output: exported.output }).toMatchObject({ code: 0 });
    expect(exported.output).toContain(`${SMALL}/${SMALL} events`);
    expect(exported.output).toContain(`wrote ${out}`);
    expect(sha256(readFileSync(out))).toBe(sha256(clean.get(smallRoom)!));

    for (const args of [[], ['export'], ['export', smallRoom, '--out'], ['export', smallRoom, '--nope', 'x'], ['frobnicate'], ['drain']]) {
      const res = await runCli(env, args);
      expect({ args, code: res.code }).toEqual({ args, code: 2 });
      expect(res.output).toContain('usage: npm run cli');
    }
    const unknownRoom = await runCli(env, ['export', randomUUID(), '--out', join(scratch, 'x.gz')]);
    expect(unknownRoom.code).toBe(1);
    expect(unknownRoom.output).toMatch(/^error: no room ".+"$/m);
    const malformedRoom = await runCli(env, ['export', 'not-a-room']);
    expect(malformedRoom.code).toBe(1);
    const unknownGateway = await runCli(env, ['drain', 'no-such-gateway']);
    expect(unknownGateway.code).toBe(1);
    expect(unknownGateway.output).toContain('error: no gateway "no-such-gateway"');

    // Drain a second gateway through the CLI: it waits and ends with the gateway gone.
    const gw2 = `${SUITE}-gw-2`;
    await stack.startGateway(gw2);
    await waitFor(`${gw2} to be listed active`, async () => (await runCli(env, ['gateways'])).output.match(new RegExp(`${gw2}\\s+active`)));
    const drained = await runCli(env, ['drain', gw2, '--timeout', '60']);
    expect({ code: drained.code, output: drained.output }).toMatchObject({ code: 0 });
    expect(drained.output).toContain(`${gw2} drained: gone, 0 rooms`);
    expect((await runCli(env, ['gateways'])).output).toMatch(new RegExp(`${gw2}\\s+gone\\s+0\\s+0`));
  });

  it('(c) non-admins get 403 on every /admin route and downloads; unknown ids 404; unfinished download 409', async () => {
    // No worker from here on: a new export stays queued. SIGTERM stops a worker cleanly (exit 0).
    for (const w of workers.filter((x) => x.running)) expect((await w.stop()).code).toBe(0);
    const [done] = [...clean.keys()];
    const doneExport = await pool.query<{ id: string }>("SELECT id FROM exports WHERE room_id = $1 AND status = 'done' LIMIT 1", [done]);
    const exportId = doneExport.rows[0]!.id;
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/admin/gateways'],
      ['POST', `/admin/gateways/${SUITE}-gw-1/drain`],
      ['GET', `/admin/rooms/${smallRoom}`],
      ['POST', `/admin/rooms/${smallRoom}/exports`, { format: 'ndjson' }],
      ['GET', `/admin/exports/${exportId}`],
      ['GET', `/admin/exports/${exportId}/download`],
    ];
    for (const [method, path, body] of routes) {
      const asUser = await api.request(method, path, { token: user.token, body });
      expect({ method, path, status: asUser.status, code: asUser.body?.error?.code }).toEqual({ method, path, status: 403, code: 'forbidden' });
      const anonymous = await api.request(method, path, { body });
      expect({ method, path, status: anonymous.status }).toEqual({ method, path, status: 401 });
    }
    expect((await api.request('GET', `/admin/gateways`, { token: admin.token })).status).toBe(200);

    const notFound: Array<[string, string, unknown?]> = [
      ['GET', `/admin/exports/${randomUUID()}`],
      ['GET', '/admin/exports/not-an-export'],
      ['GET', `/admin/exports/${randomUUID()}/download`],
      ['GET', '/admin/exports/%27%3B--/download'],
      ['POST', '/admin/gateways/no-such-gateway/drain'],
      ['POST', `/admin/rooms/${randomUUID()}/exports`, { format: 'ndjson' }],
      ['POST', '/admin/rooms/not-a-room/exports', { format: 'ndjson' }],
    ];
    for (const [method, path, body] of notFound) {
      const res = await api.request(method, path, { token: admin.token, body });
      expect({ method, path, status: res.status, code: res.body?.error?.code }).toEqual({ method, path, status: 404, code: 'not_found' });
    }

    for (const body of [{}, { format: 'csv' }, { format: 'ndjson', compress: true }, 'ndjson', null]) {
      const res = await api.request('POST', `/admin/rooms/${smallRoom}/exports`, { token: admin.token, body });
      expect({ body, status: res.status, code: res.body?.error?.code }).toEqual({ body, status: 400, code: 'invalid' });
    }
    const noBody = await api.request('POST', `/admin/rooms/${smallRoom}/exports`, { token: admin.token });
    expect(noBody.status).toBe(400);

    const pending = await requestExport(smallRoom);
    expect((await exportView(pending.id)).status).toBe('queued');
    const early = await api.request('GET', `/admin/exports/${pending.id}/download`, { token: admin.token });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('conflict');
  });

  it('cold-room sweep: snapshots a long-tailed room no live gateway holds, and leaves a held one to its gateway', async () => {
    // The big rooms are done with; dropping them keeps the sweep's work (and the test DB) small.
    await dropRooms([bigRoom, smallRoom]);
    clean.clear();
    const cold = await fillRoom('cold room', 3_000);
    const held = await fillRoom('held room', 3_000);
    try {
      const info = await api.connection(user.token, held);
      expect(info.gatewayId).toBe(`${SUITE}-gw-1`);
      const w = await worker('worker-sweep', { COLD_SNAPSHOT_SWEEP_MS: '1000', SNAPSHOT_EVERY_EVENTS: '1000' });
      const snapshot = await waitFor(
        'a snapshot of the cold room',
        async () => {
          const res = await api.request('GET', `/admin/rooms/${cold}`, { token: admin.token });
          return res.body?.snapshot?.seq === 3_000 ? res.body.snapshot : undefined;
        },
        30_000,
        200,
      );
      expect(snapshot.bytes).toBeGreaterThan(0);
      expect(w.logs()).toContain(`snapshot-${cold}-3000`);
      // Two more sweeps: the room its live gateway holds is never queued.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(w.logs()).not.toContain(`snapshot-${held}-`);
      const heldView = await api.request('GET', `/admin/rooms/${held}`, { token: admin.token });
      expect(heldView.body.owner?.gatewayId).toBe(`${SUITE}-gw-1`);
    } finally {
      await dropRooms([cold, held]);
    }
  });
});
