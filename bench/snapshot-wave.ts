/**
 * Acceptance 5 of issue 7: while 500 rooms with about 1 MB of state each are snapshotted at once
 * on one gateway, a light sender's ack p99 (another room, same gateway; 100 sends a second from a process of its own, open
 * loop) stays under 50 ms.
 *
 * The same wave runs twice, each time on a gateway of its own started for it:
 * - `before`: SNAPSHOT_ENCODE_INLINE=1 (bench only), the gateway as it was: every snapshot encoded
 *   on the event loop (JSON twice + sha256) and every due room started in the same sweep;
 * - `after`: the worker encoder and the bounded sweep.
 *
 * Set-up, bounded: the rooms' logs are filled in SQL: 10,000 `message.posted` events each, with
 * 64-character clientMsgIds (both windows full: 5,000 messages, 10,000 dedup entries), then a
 * reaction on each of the 5,000 windowed messages, so each room's snapshot is about 1 MB of JSON.
 * (Until the dedup window kept fingerprints, 5,500 posts made 1 MB; the same rooms now take
 * 0.52 MB, so the rooms grew to keep the acceptance's 1 MB.)
 * The stack's own gateways are drained first so that every room is placed on the measured one.
 * That gateway runs with SNAPSHOT_EVERY_EVENTS one above the rooms' head and a one-hour
 * interval: loading the rooms (a full replay each) starts no snapshot, and one message into each
 * room then makes all 500 due at once. The wave ends when all 500 snapshots are in Postgres.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { fork } from 'node:child_process';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { applyEvent, emptyRoomState, encodeSnapshotDocument, type EventEnvelope } from '../libs/domain/src';
import type { ConnectionInfo, TestUser } from '../test/support/client';
import type { FromLightSender, ToLightSender } from './light-sender';
import { freePort, ManagedProcess, waitFor } from '../test/support/processes';
import { distribution, enterRoom, type Figure, loopDelayFrom, mapLimit, type Member, round, scrapeHistogram, scrapeMetricsText, sleep, slowerThan } from './lib';
import type { BenchContext, Scenario } from './scenarios';

function reactionsPerRoom(): number {
  const raw = process.env.BENCH_WAVE_REACTIONS ?? '5000';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 5_000) throw new Error(`BENCH_WAVE_REACTIONS: expected an integer 0..5000 (the message window), got ${JSON.stringify(raw)}`);
  return n;
}

const WAVE = {
  rooms: 500,
  postsPerRoom: 10_000,
  /**
   * One 👍 by the owner on each of the last this many posts (the message window): what takes a
   * room to 1 MB. BENCH_WAVE_REACTIONS=0 measures rooms of messages alone (full windows, 0.75 MB).
   */
  reactionsPerRoom: reactionsPerRoom(),
  clientMsgIdLength: 64,
  /** Rooms filled per SQL statement, and statements at once. */
  fillChunk: 25,
  fillParallel: 2,
  /** Rooms entered (loaded: a full replay each) at once. */
  loadParallel: 8,
  /** The light sender runs this long before the trigger (its unloaded baseline). */
  baselineMs: 3_000,
  /**
   * The wave is measured until all 500 snapshots are in Postgres or this long after the trigger,
   * whichever comes first (without the change, saves time out and back off, and the wave drags).
   */
  windowMs: 120_000,
  scrapeEveryMs: 1_000,
};

const LIGHT_ACK_TIMEOUT_MS = 120_000;
/**
 * The light sender's pace: 100 sends a second, still light next to the gateway's capacity. At 20
 * a second a 7 s wave gave about 140 samples, so its "p99" was the second-worst ack; at 100 it
 * is a percentile of about 700.
 */
const LIGHT_EVERY_MS = 10;

interface Variant {
  id: 'before' | 'after';
  label: string;
  env: Record<string, string>;
}

/**
 * `after` runs first: the `before` gateway can stall long enough that some trigger sends are
 * never acknowledged, and the next variant then finds those rooms one event short of the head it
 * was set up for (the check in runWave stops it). Nothing after `before` depends on its triggers.
 */
const VARIANTS: Variant[] = [
  { id: 'after', label: 'after: worker encoder, at most 4 at once', env: {} },
  { id: 'before', label: 'before: encode on the loop, unbounded sweep', env: { SNAPSHOT_ENCODE_INLINE: '1' } },
];

/**
 * BENCH_WAVE_VARIANTS=after (or before) runs one variant only: the `before` one takes minutes and
 * its figure does not move while the encoder is tuned.
 */
function selectedVariants(): Variant[] {
  const wanted = process.env.BENCH_WAVE_VARIANTS?.split(',').map((v) => v.trim()).filter(Boolean);
  if (!wanted?.length) return VARIANTS;
  const unknown = wanted.filter((id) => !VARIANTS.some((v) => v.id === id));
  if (unknown.length) throw new Error(`BENCH_WAVE_VARIANTS: unknown variant(s) ${unknown.join(', ')} (known: ${VARIANTS.map((v) => v.id).join(', ')})`);
  return VARIANTS.filter((v) => wanted.includes(v.id));
}

/**
 * How the 500 trigger messages go out. Paced (the default): 25 every 50 ms, so the 500 rooms fall
 * due within one second, the snapshot sweep (every 250 ms, at most 4 at once) still has all of
 * them queued together, and the light sender measures the wave, not a load spike of the bench's
 * own making. BENCH_WAVE_TRIGGER=burst sends all 500 in one instant, as runs before 2026-11-28
 * did: the light sender's acks then wait behind 500 sends (and their 500 broadcasts back to this
 * process) for about 300 ms, with or without snapshots (measured: every ack over 50 ms of such a
 * run fell in the 300 ms after the trigger).
 */
const TRIGGER_PACE = { chunk: 25, everyMs: 50 };
function triggerPaced(): boolean {
  const mode = process.env.BENCH_WAVE_TRIGGER ?? 'paced';
  if (mode !== 'paced' && mode !== 'burst') throw new Error(`BENCH_WAVE_TRIGGER: expected paced or burst, got ${JSON.stringify(mode)}`);
  return mode === 'paced';
}

/** Starts `send` for every member, TRIGGER_PACE.chunk at a time; resolves to the pending acks. */
async function pacedTriggers<T>(members: Member[], send: (m: Member, i: number) => Promise<T>): Promise<Array<Promise<T>>> {
  const pending: Array<Promise<T>> = [];
  for (let from = 0; from < members.length; from += TRIGGER_PACE.chunk) {
    if (from > 0) await sleep(TRIGGER_PACE.everyMs);
    members.slice(from, from + TRIGGER_PACE.chunk).forEach((m, j) => pending.push(send(m, from + j)));
  }
  return pending;
}

/** `bulk-<seq>-` padded with hex to 64 characters: unique per room, as long as the contract allows. */
const CLIENT_MSG_ID_SQL = `rpad('bulk-' || g || '-', ${WAVE.clientMsgIdLength}, md5(g::text))`;

/** The rooms' head once filled: room.created, the posts, the reactions. */
const FILLED_HEAD = 1 + WAVE.postsPerRoom + WAVE.reactionsPerRoom;

/** The reaction at `seq` (after the posts) targets this post: the last `reactionsPerRoom` posts, in order. */
const reactionTarget = (seq: number) => seq - WAVE.reactionsPerRoom;

/** Fills fresh rooms (head 1) with WAVE's posts and reactions by `user`, and moves their heads. */
async function fillRooms(ctx: BenchContext, roomIds: string[], user: TestUser): Promise<void> {
  const posts = WAVE.postsPerRoom;
  const db = await ctx.pool.connect();
  try {
    await db.query('BEGIN');
    await db.query(
      `INSERT INTO room_events (room_id, seq, type, actor_id, actor_username, client_msg_id, data, created_at)
       SELECT r.id, g, 'message.posted', $2, $3, ${CLIENT_MSG_ID_SQL}, jsonb_build_object('text', 'bulk message ' || g), now()
         FROM unnest($1::uuid[]) AS r(id) CROSS JOIN generate_series(2, $4::int) AS g`,
      [roomIds, user.user.id, user.user.username, posts + 1],
    );
    await db.query(
      `INSERT INTO room_events (room_id, seq, type, actor_id, actor_username, client_msg_id, data, created_at)
       SELECT r.id, g, 'reaction.added', $2, $3, NULL, jsonb_build_object('seq', g - $6::int, 'emoji', '👍'), now()
         FROM unnest($1::uuid[]) AS r(id) CROSS JOIN generate_series($4::int, $5::int) AS g`,
      [roomIds, user.user.id, user.user.username, posts + 2, FILLED_HEAD, WAVE.reactionsPerRoom],
    );
    const updated = await db.query('UPDATE rooms SET head_seq = $2 WHERE id = ANY($1::uuid[]) AND head_seq = 1', [roomIds, FILLED_HEAD]);
    if (updated.rowCount !== roomIds.length) throw new Error(`${roomIds.length - (updated.rowCount ?? 0)} room(s) were not fresh`);
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
}

/** Size of one filled room's snapshot document, folded here from the same events as the SQL writes. */
function documentBytes(roomId: string, user: TestUser): number {
  const state = emptyRoomState(roomId);
  const actor = { id: user.user.id, username: user.user.username };
  const ts = new Date().toISOString();
  applyEvent(state, { roomId, seq: 1, type: 'room.created', ts, actor, data: { name: 'bench snapshot wave' } });
  for (let seq = 2; seq <= WAVE.postsPerRoom + 1; seq++) {
    const clientMsgId = `bulk-${seq}-`.padEnd(WAVE.clientMsgIdLength, '0');
    const event: EventEnvelope = { roomId, seq, type: 'message.posted', ts, actor, data: { text: `bulk message ${seq}` }, clientMsgId };
    applyEvent(state, event);
  }
  for (let seq = WAVE.postsPerRoom + 2; seq <= FILLED_HEAD; seq++) {
    applyEvent(state, { roomId, seq, type: 'reaction.added', ts, actor, data: { seq: reactionTarget(seq), emoji: '👍' } });
  }
  if (state.headSeq !== FILLED_HEAD || state.messages.reactedMessages !== WAVE.reactionsPerRoom) throw new Error('documentBytes: the fold does not match the fill');
  return Buffer.byteLength(encodeSnapshotDocument(state).json);
}

async function registryStatus(ctx: BenchContext): Promise<Map<string, string>> {
  const res = await ctx.api.request<{ gateways: Array<{ id: string; status: string }> }>('GET', '/admin/gateways', { token: ctx.admin.token });
  if (res.status !== 200) throw new Error(`GET /admin/gateways: ${res.status}`);
  return new Map(res.body.gateways.map((g) => [g.id, g.status]));
}

const isGone = (status: string | undefined) => status === undefined || status === 'gone';

/** Drains every gateway of the stack still running, so that new rooms go to the measured one. */
async function drainStackGateways(ctx: BenchContext): Promise<void> {
  const live = ctx.stack.gateways.filter((g) => g.proc.running);
  for (const gw of live) {
    const res = await ctx.api.request('POST', `/admin/gateways/${gw.id}/drain`, { token: ctx.admin.token });
    if (res.status !== 202) throw new Error(`POST /admin/gateways/${gw.id}/drain: ${res.status}`);
  }
  await waitFor('the stack gateways to drain', async () => {
    const status = await registryStatus(ctx);
    return live.every((gw) => isGone(status.get(gw.id)));
  }, 60_000, 250);
}

/**
 * BENCH_WAVE_TRACE_GC=1 logs the gateway's GC pauses (written out after the wave), and
 * BENCH_WAVE_CPU_PROFILE=1 profiles its main thread from the trigger to the wave's end: to tell
 * a GC stall, main-thread work and a slow commit apart when the light sender's p99 moves.
 */
const diagnosing = () => process.env.BENCH_WAVE_TRACE_GC === '1' || process.env.BENCH_WAVE_CPU_PROFILE === '1';
const cpuProfileFile = (variant: Variant) => `bench-results/wave-${variant.id}.cpuprofile`;
function diagnosticsEnv(variant: Variant): Record<string, string> {
  return {
    ...(process.env.BENCH_WAVE_TRACE_GC === '1' ? { DIAG_TRACE_GC: '1' } : {}),
    ...(process.env.BENCH_WAVE_CPU_PROFILE === '1' ? { DIAG_CPU_PROFILE: resolve(cpuProfileFile(variant)) } : {}),
  };
}

/**
 * The bench's S3 stand-in (s3rver) runs on the same two cores as Postgres and the gateway, where
 * production's S3 is another machine. During a wave it takes 500 uploads of 155 KiB (about half a
 * core), and its CPU then delays the Postgres backend that commits the light sender's message. So
 * for this scenario it runs at nice BENCH_WAVE_S3_NICE (default 10; 0 measures it as an equal),
 * like the gateway's own encoder thread. Nothing to do when S3_ENDPOINT names another server.
 */
async function niceS3StandIn(ctx: BenchContext): Promise<{ nice: number | null; restore: () => void }> {
  const pid = ctx.stack.s3?.proc?.running ? ctx.stack.s3.proc.pid : undefined;
  const nice = Number(process.env.BENCH_WAVE_S3_NICE ?? '10');
  if (pid === undefined || !Number.isInteger(nice) || nice === 0) return { nice: null, restore: () => undefined };
  const before = getPriority(pid);
  setPriority(pid, nice);
  log(`S3 stand-in (pid ${pid}) at nice ${nice} for this scenario`);
  return {
    nice,
    restore: () => {
      try {
        setPriority(pid, before);
      } catch {
        // Lowering a niceness back may need privileges the bench lacks; the S3 server is the bench's own.
      }
    },
  };
}

/**
 * The fill writes 2.75M rows (over a GB of WAL) in a minute, which a live room never does. Left
 * alone, Postgres pays for it during the measurement: the checkpoint it triggers is spread over
 * minutes of writes, and autovacuum then scans the new partitions. Both delay the light sender's
 * commits and have nothing to do with snapshots, so they are done before the wave.
 */
async function settleDatabase(ctx: BenchContext): Promise<void> {
  const at = performance.now();
  await ctx.pool.query('VACUUM (ANALYZE) room_events');
  try {
    await ctx.pool.query('CHECKPOINT');
  } catch (err) {
    log(`CHECKPOINT refused (${(err as Error).message}): the wave may share the disk with a checkpoint`);
  }
  log(`database settled (VACUUM ANALYZE, CHECKPOINT) in ${round((performance.now() - at) / 1000, 1)} s`);
}

/** A gateway of this scenario's own, with the variant's environment. */
async function startGateway(ctx: BenchContext, variant: Variant, head: number): Promise<{ id: string; url: string; proc: ManagedProcess }> {
  // The profile and GC logs go to bench-results/, which a fresh clone does not have yet: the
  // gateway writes its profile there and would fail on a missing directory.
  mkdirSync('bench-results', { recursive: true });
  rmSync(cpuProfileFile(variant), { force: true });
  const port = await freePort();
  const id = `bench-wave-${variant.id}`;
  const url = `http://127.0.0.1:${port}`;
  const env = ctx.stack.env({
    PORT: String(port),
    GATEWAY_ID: id,
    GATEWAY_PUBLIC_URL: url,
    SNAPSHOT_EVERY_EVENTS: String(head + 1),
    SNAPSHOT_INTERVAL_MS: '3600000',
    // Every room falls due at the trigger, not at its load phase (which would snapshot each one
    // as it loads, its whole log being its tail): the wave is the point.
    SNAPSHOT_LOAD_PHASE: 'off',
    ROOM_IDLE_MS: '0',
    ...variant.env,
  });
  const main = 'dist/apps/gateway/src/main.js';
  const proc = diagnosing() ? ManagedProcess.start(id, 'bench/gateway-diagnostics.js', { ...env, ...diagnosticsEnv(variant) }, [main]) : ManagedProcess.start(id, main, env);
  try {
    await waitFor(`${id} to answer`, async () => {
      if (!proc.running) throw new Error(`${id} exited:\n${proc.logs()}`);
      return (await fetch(`${url}/health/ready`)).ok;
    }, 30_000, 100);
    await waitFor(`${id} to be active in the registry`, async () => (await registryStatus(ctx)).get(id) === 'active', 10_000, 100);
  } catch (err) {
    await proc.kill();
    throw err;
  }
  return { id, url, proc };
}

/**
 * The light sender in a process of its own (bench/light-sender.ts), entered through the API like
 * a user. Its samples come back on this process's performance.now() scale.
 */
async function forkLightSender(info: ConnectionInfo, prefix: string) {
  const child = fork(join(__dirname, 'light-sender.ts'), [], { execArgv: ['-r', join(__dirname, 'register.js')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () =>
    new Promise<FromLightSender>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`light sender exited (${code}) before answering`));
      child.once('exit', onExit);
      child.once('message', (msg: FromLightSender) => {
        child.off('exit', onExit);
        if (msg.type === 'error') reject(new Error(`light sender: ${msg.message}`));
        else resolve(msg);
      });
    });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  try {
    const ready = next();
    child.send({ type: 'start', url: info.url, auth: { ticket: info.ticket }, prefix, everyMs: LIGHT_EVERY_MS, timeoutMs: LIGHT_ACK_TIMEOUT_MS } satisfies ToLightSender);
    await ready;
  } catch (err) {
    kill();
    throw err;
  }
  return {
    kill,
    async stop() {
      const result = next();
      child.send({ type: 'stop' } satisfies ToLightSender);
      const msg = await result.finally(kill);
      if (msg.type !== 'result') throw new Error(`light sender answered ${msg.type} to stop`);
      const samples = msg.samples.map((x) => ({ sentAt: x.sentAt - performance.timeOrigin, ms: x.ms }));
      return { samples, errors: msg.errors, sent: msg.sent };
    },
  };
}

const log = (line: string) => console.log(`bench: snapshot-wave: ${line}`);

/** One unlabelled-sum counter of a gateway's /metrics. */
async function scrapeCounter(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(60_000) })).text();
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

/** Cumulative bucket counts (le → count) of a histogram's series whose labels include `labels`. */
/** `gateway_event_loop_delay_seconds` by quantile, ms, for the window since the previous scrape. */
async function scrapeLoopDelay(url: string): Promise<{ p50: number; p99: number }> {
  return loopDelayFrom(await scrapeMetricsText(url));
}

/** Scrapes every `scrapeEveryMs` until stopped; each window's figures and when it closed. */
function loopDelaySampler(url: string) {
  const windows: Array<{ p50: number; p99: number; at: number }> = [];
  let stopped = false;
  const loop = (async () => {
    await scrapeLoopDelay(url).catch(() => undefined); // opens the first window
    while (!stopped) {
      await sleep(WAVE.scrapeEveryMs);
      const w = await scrapeLoopDelay(url).catch(() => undefined);
      if (w) windows.push({ ...w, at: performance.now() });
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return windows;
    },
  };
}

interface WaveResult {
  variant: Variant;
  gatewayId: string;
  loadMs: number;
  triggerMs: number;
  waveMs: number;
  savedInWindow: number;
  failedAttempts: number;
  firstFailure: string | undefined;
  baseline: ReturnType<typeof distribution>;
  during: ReturnType<typeof distribution>;
  /** From the last trigger acknowledged (all 500 rooms due) to the wave's end: the snapshots alone. */
  allDue: ReturnType<typeof distribution>;
  /** Worst and median p99 of the 1 s windows that closed during the wave, worst one before it (ms). */
  loopDelayP99Max: number;
  loopDelayP99Median: number;
  loopDelayP99Baseline: number;
  loopWindows: number;
  lightErrors: Record<string, number>;
  triggerErrors: number;
  snapshotBytesAvg: number;
  /** Seen by the gateway after the triggers: light sends acked, commit statements, and how many of each took over 50 ms. */
  gatewaySide: { acks: { n: number; slower: number }; commits: { n: number; slower: number } };
}

async function runWave(ctx: BenchContext, variant: Variant, roomIds: string[], head: number, owner: TestUser): Promise<WaveResult> {
  const gw = await startGateway(ctx, variant, head);
  const members: Member[] = [];
  let sender: Awaited<ReturnType<typeof forkLightSender>> | undefined;
  try {
    const loadAt = performance.now();
    await mapLimit(roomIds, WAVE.loadParallel, async (roomId, i) => {
      const entered = await enterRoom(ctx.api, owner, roomId, i, { timeoutMs: 60_000, deadlineMs: 90_000 });
      members.push(entered.member);
      ctx.open.add(entered.member);
      if (entered.member.gatewayId !== gw.id) throw new Error(`room ${roomId} went to ${entered.member.gatewayId}, not ${gw.id}`);
      if (entered.ack.room.headSeq !== head) throw new Error(`room ${roomId}: head ${entered.ack.room.headSeq}, expected ${head}`);
    });
    const loadMs = performance.now() - loadAt;
    log(`${roomIds.length} rooms loaded on ${gw.id} in ${round(loadMs / 1000, 1)} s`);

    const lightRoom = await ctx.api.createRoom(ctx.users[1]!.token, `bench wave light ${variant.id}`);
    const lightEntry = await ctx.api.connection(ctx.users[1]!.token, lightRoom.id);
    if (lightEntry.gatewayId !== gw.id) throw new Error(`the light room went to ${lightEntry.gatewayId}, not ${gw.id}`);

    sender = await forkLightSender(lightEntry, `${ctx.runId}-wave-${variant.id}-light`);
    const sampler = loopDelaySampler(gw.url);
    await sleep(WAVE.baselineMs);

    const sendAcks = () => scrapeHistogram(gw.url, 'gateway_ack_duration_seconds', ['command="send"']);
    const commits = () => scrapeHistogram(gw.url, 'gateway_commit_duration_seconds');
    // One message into each room: every room is now one event past SNAPSHOT_EVERY_EVENTS' mark.
    if (process.env.BENCH_WAVE_CPU_PROFILE === '1') process.kill(gw.proc.pid, 'SIGUSR2');
    const triggerAt = performance.now();
    const trigger = (m: Member, i: number) =>
      m.socket
        .timeout(LIGHT_ACK_TIMEOUT_MS)
        .emitWithAck('message:send', { clientMsgId: `${ctx.runId}-wave-${variant.id}-${i}`, text: 'snapshot me' })
        .catch(() => ({ ok: false as const }));
    const acks = await Promise.all(triggerPaced() ? await pacedTriggers(members, trigger) : members.map(trigger));
    const triggerMs = performance.now() - triggerAt;
    // The triggers' own acks and commits are left out: from here on only the light sender sends.
    const [acksFrom, commitsFrom] = [await sendAcks(), await commits()];
    log(`trigger messages acknowledged in ${round(triggerMs / 1000, 1)} s`);
    const savedSoFar = async () => {
      const { rows } = await ctx.pool.query<{ n: number; bytes: number }>(
        'SELECT count(*)::int AS n, coalesce(avg(bytes), 0)::float AS bytes FROM room_snapshots WHERE room_id = ANY($1::uuid[]) AND seq = $2',
        [roomIds, head + 1],
      );
      return rows[0]!;
    };
    let saved = await savedSoFar();
    while (saved.n < roomIds.length && performance.now() - triggerAt < WAVE.windowMs) {
      await sleep(100);
      saved = await savedSoFar();
    }
    const waveEnd = performance.now();
    if (process.env.BENCH_WAVE_CPU_PROFILE === '1') {
      process.kill(gw.proc.pid, 'SIGUSR2');
      await waitFor('the CPU profile', async () => existsSync(cpuProfileFile(variant)), 30_000, 200);
      log(`CPU profile of ${gw.id} from the trigger on in ${cpuProfileFile(variant)}`);
    }
    const { samples, errors } = await sender.stop();
    const gatewaySide = { acks: slowerThan(acksFrom, await sendAcks(), '0.05'), commits: slowerThan(commitsFrom, await commits(), '0.05') };
    const windows = await sampler.stop();
    const inWave = windows.filter((w) => w.at > triggerAt && w.at <= waveEnd + WAVE.scrapeEveryMs);
    const failed = await scrapeCounter(gw.url, 'gateway_snapshots_failed_total');
    const firstFailure = /snapshot of room \S+ failed[^\n]*/.exec(gw.proc.logs())?.[0];
    if (process.env.BENCH_WAVE_TRACE_GC === '1') {
      const file = `bench-results/wave-${variant.id}-gc.log`;
      writeFileSync(file, gw.proc.logs().split('\n').filter((line) => /Mark-Compact|Scavenge|Mark-sweep|MinorMS|^diag-/.test(line)).join('\n'));
      // The light sender's slow acks on the same clock as the diag- lines (epoch ms).
      const slow = samples.filter((s) => s.ms > 50).map((s) => `${Math.round(performance.timeOrigin + s.sentAt)}: sent, acked ${round(s.ms, 1)} ms later`);
      writeFileSync(`bench-results/wave-${variant.id}-slow-acks.log`, [`${Math.round(performance.timeOrigin + triggerAt)}: trigger`, ...slow].join('\n'));
      log(`GC trace of ${gw.id} in ${file}`);
    }
    log(`wave ${saved.n}/${roomIds.length} snapshots in ${round((waveEnd - triggerAt) / 1000, 1)} s, ${failed} failed attempts${firstFailure ? ` (${firstFailure})` : ''}`);

    return {
      variant,
      gatewayId: gw.id,
      loadMs,
      triggerMs,
      waveMs: waveEnd - triggerAt,
      savedInWindow: saved.n,
      failedAttempts: failed,
      firstFailure,
      baseline: distribution(samples.filter((s) => s.sentAt < triggerAt).map((s) => s.ms)),
      during: distribution(samples.filter((s) => s.sentAt >= triggerAt && s.sentAt <= waveEnd).map((s) => s.ms)),
      allDue: distribution(samples.filter((s) => s.sentAt >= triggerAt + triggerMs && s.sentAt <= waveEnd).map((s) => s.ms)),
      loopDelayP99Max: round(Math.max(0, ...inWave.map((w) => w.p99))),
      loopDelayP99Median: distribution(inWave.map((w) => w.p99)).p50,
      loopDelayP99Baseline: round(Math.max(0, ...windows.filter((w) => w.at <= triggerAt).map((w) => w.p99))),
      loopWindows: inWave.length,
      lightErrors: errors,
      gatewaySide,
      triggerErrors: acks.filter((a) => !a.ok).length,
      snapshotBytesAvg: Math.round(saved.bytes),
    };
  } catch (err) {
    throw new Error(`${(err as Error).message}\n----- ${gw.id} -----\n${gw.proc.logs().slice(-6000)}`);
  } finally {
    sender?.kill();
    for (const m of members) {
      m.socket.removeAllListeners();
      m.socket.close();
      ctx.open.delete(m);
    }
    // kill -9: a drain would write 500 more snapshots. The next variant waits for the registry.
    await gw.proc.kill();
    await waitFor(`${gw.id} to be gone`, async () => isGone((await registryStatus(ctx)).get(gw.id)), 30_000, 250);
  }
}

export const snapshotWave: Scenario = {
  id: 'snapshot-wave',
  title: '500 rooms x 1 MB snapshotted at once, light sender beside them',
  params: {
    ...WAVE,
    variants: VARIANTS.map((v) => v.label),
    measured: `ack latency of a sender in another room on the same gateway (one send every ${LIGHT_EVERY_MS} ms, open loop), from the trigger until all 500 snapshots are in Postgres (or the window ends); gateway_event_loop_delay_seconds scraped every second`,
  },
  async run(ctx) {
    const owner = ctx.users[0]!;
    await drainStackGateways(ctx);

    const created = await mapLimit(Array.from({ length: WAVE.rooms }, (_, i) => i), 8, (i) => ctx.api.createRoom(owner.token, `bench wave ${i}`));
    const roomIds = created.map((r) => r.id);
    const fillAt = performance.now();
    const chunks: string[][] = [];
    for (let i = 0; i < roomIds.length; i += WAVE.fillChunk) chunks.push(roomIds.slice(i, i + WAVE.fillChunk));
    await mapLimit(chunks, WAVE.fillParallel, (chunk) => fillRooms(ctx, chunk, owner));
    const fillMs = performance.now() - fillAt;
    log(`${WAVE.rooms} rooms filled with ${WAVE.postsPerRoom} posts and ${WAVE.reactionsPerRoom} reactions each in ${round(fillMs / 1000, 1)} s`);
    await settleDatabase(ctx);
    const docBytes = documentBytes(roomIds[0]!, owner);

    const results: WaveResult[] = [];
    let head = FILLED_HEAD;
    const s3Nice = await niceS3StandIn(ctx);
    try {
      for (const variant of selectedVariants()) {
        log(`${variant.label} ...`);
        results.push(await runWave(ctx, variant, roomIds, head, owner));
        head += 1; // the trigger message
        // The next variant loads every room by a full replay again, as this one did.
        await ctx.pool.query('DELETE FROM room_snapshots WHERE room_id = ANY($1::uuid[])', [roomIds]);
      }
    } finally {
      s3Nice.restore();
    }

    const s = 'snapshot-wave';
    const common = { rooms: WAVE.rooms, documentBytes: docBytes, fillMs: round(fillMs, 0), s3StandInNice: s3Nice.nice ?? 0 };
    return results.flatMap((r): Figure[] => {
      const details = {
        ...common,
        variant: r.variant.label,
        gateway: r.gatewayId,
        loadMs: round(r.loadMs, 0),
        triggerMs: round(r.triggerMs, 0),
        waveMs: round(r.waveMs, 0),
        savedInWindow: r.savedInWindow,
        failedAttempts: r.failedAttempts,
        firstFailure: r.firstFailure,
        snapshotBytesAvg: r.snapshotBytesAvg,
        lightBaseline: r.baseline,
        lightDuringWave: r.during,
        lightAllDue: r.allDue,
        trigger: triggerPaced() ? TRIGGER_PACE : 'burst',
        lightErrors: r.lightErrors,
        triggerErrors: r.triggerErrors,
        loopDelayWindows: r.loopWindows,
        loopDelayP99MedianMs: r.loopDelayP99Median,
        loopDelayP99BaselineMs: r.loopDelayP99Baseline,
      };
      const errors = Object.keys(r.lightErrors).length ? ` errors=${JSON.stringify(r.lightErrors)}` : '';
      return [
        {
          scenario: s,
          name: `light ack p99 during the wave (${r.variant.id})`,
          value: r.during.p99,
          unit: 'ms',
          note: `${r.variant.label}; n=${r.during.n}, p50 ${r.during.p50}, max ${r.during.max} ms; before the wave p99 ${r.baseline.p99} ms; over 50 ms in the gateway: ${r.gatewaySide.acks.slower} of ${r.gatewaySide.acks.n} acks, ${r.gatewaySide.commits.slower} of ${r.gatewaySide.commits.n} commit statements${errors}${r.lightErrors.timeout ? ` (timeouts counted at ${LIGHT_ACK_TIMEOUT_MS / 1000} s)` : ''}`,
          details,
        },
        {
          scenario: s,
          name: `light ack p99 once all 500 are due (${r.variant.id})`,
          value: r.allDue.p99,
          unit: 'ms',
          note: `the same sends from the last trigger's ack (${round(r.triggerMs, 0)} ms after the first, trigger ${triggerPaced() ? 'paced' : 'burst'}) to the wave's end; n=${r.allDue.n}, p50 ${r.allDue.p50}, max ${r.allDue.max} ms`,
          details,
        },
        {
          scenario: s,
          name: `loop delay p99, worst 1 s window (${r.variant.id})`,
          value: r.loopDelayP99Max,
          unit: 'ms',
          note: `gateway_event_loop_delay_seconds over ${r.loopWindows} windows: median ${r.loopDelayP99Median} ms; before the wave worst ${r.loopDelayP99Baseline} ms`,
          details,
        },
        {
          scenario: s,
          name: `snapshots saved in the wave (${r.variant.id})`,
          value: r.savedInWindow,
          unit: `of ${WAVE.rooms}`,
          note: `in ${round(r.waveMs / 1000, 1)} s (window ${WAVE.windowMs / 1000} s), ${r.failedAttempts} failed attempts; ${round(docBytes / 2 ** 20, 2)} MiB JSON, ${round(r.snapshotBytesAvg / 1024, 0)} KiB gzip each; load ${round(r.loadMs / 1000, 1)} s`,
          details,
        },
      ];
    });
  },
};
