/**
 * `npm run bench -- compare [--reps 3] [--seconds 5] [--load-procs 1] [scenario ...]` (issue 9):
 * the product against a baseline peer in the same run. Starts the API and ONE gateway from dist/
 * and the plain Socket.IO peer (bench/peer.ts) as separate processes; every throughput and
 * latency scenario runs on both sides alternately (A B A B ..., `--reps` pairs) with the load in
 * forked processes (bench/load-worker.ts), and reports each side's median and ours ÷ peer. The
 * scenarios without a peer equivalent (write path, resume, drain, memory) run after them on the
 * same stack. Prints a table; writes bench-results/compare-<timestamp>.json and
 * bench-results/compare-latest.json.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { ApiClient, type TestUser } from '../test/support/client';
import { baseEnv, freePort, ManagedProcess, ROOT, waitFor } from '../test/support/processes';
import { S3Server } from '../test/support/s3-server';
import { TestStack } from '../test/support/stack';
import { drain, resumeBig, writePath } from './compare-product';
import { memory } from './compare-memory';
import { type CompareContext, type CompareScenario, fanout, hotRoom, throughput } from './compare-scenarios';
import { soakReference } from './compare-soak';
import { profileFor, topSelfTime } from './cpu-profile';
import { InspectorClient, inspectorUrlFrom } from '../test/support/inspector';
import { runEntryPoint } from './entry-point';
import { type Figure, mapLimit, round } from './lib';
import { stopAllLoadProcs } from './load-procs';
import { renderTable } from './report';
import { gitInfo, machineInfo, redact } from './run-info';

const WATCHDOG_MS = 40 * 60_000;
const USERS = 50;

/** Every scenario in run order (the issue's numbering; the drain last, it leaves its gateway drained). */
export const COMPARE_SCENARIOS: CompareScenario[] = [throughput, hotRoom, fanout, writePath, resumeBig, memory, soakReference, drain];

export const COMPARE_STACK_ENV: Readonly<Record<string, string>> = {
  RATE_LIMIT_MSG_PER_SEC: '0',
  AUTH_RATE_LIMIT_PER_MIN: '0',
  // Rooms stay loaded between repetitions (the peer never unloads either).
  ROOM_IDLE_MS: '0',
  SNAPSHOT_EVERY_EVENTS: '1000',
  // For the heap readings after a full GC (scenario 7) and --profile; idle unless attached.
  NODE_OPTIONS: '--inspect=127.0.0.1:0',
};

export interface CompareOptions {
  reps: number;
  seconds: number;
  loadProcs: number;
  /** Sample the gateway's CPU during our first scenario-1 window (bench-results/*.cpuprofile). */
  profile: boolean;
  /**
   * SNAPSHOT_EVERY_EVENTS of our gateway instead of the contract's default 1000: with a number past
   * any run's events, what periodic snapshots cost is the difference to a default run.
   */
  snapshotEveryEvents?: number;
  only: string[];
}

export function parseCompareArgs(argv: readonly string[]): CompareOptions {
  const o: CompareOptions = { reps: 3, seconds: 5, loadProcs: 1, profile: false, only: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = (name: string) => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
      return v;
    };
    if (a === '--reps') o.reps = Math.round(num(a));
    else if (a === '--seconds') o.seconds = num(a);
    else if (a === '--load-procs') o.loadProcs = Math.round(num(a));
    else if (a === '--profile') o.profile = true;
    else if (a === '--snapshot-every-events') o.snapshotEveryEvents = Math.round(num(a));
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else o.only.push(a);
  }
  if (o.reps < 3) throw new Error('--reps: at least 3 repetitions (the issue asks for medians of 3 or more)');
  return o;
}

const TMPFS = '/dev/shm';

let stack: TestStack | undefined;
let s3: S3Server | undefined;
let peer: ManagedProcess | undefined;
let pool: Pool | undefined;
let stopping: Promise<unknown> | undefined;

function shutdown(): Promise<unknown> {
  stopping ??= (async () => {
    stopAllLoadProcs();
    await pool?.end().catch(() => undefined);
    await peer?.stop(5_000).catch(() => undefined);
    const exits = await (stack?.stop().catch(() => []) ?? []);
    await s3?.destroy().catch(() => undefined);
    return exits;
  })();
  return stopping;
}

async function main(): Promise<number> {
  const options = parseCompareArgs(process.argv.slice(2));
  const unknown = options.only.filter((id) => !COMPARE_SCENARIOS.some((s) => s.id === id));
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${COMPARE_SCENARIOS.map((s) => s.id).join(', ')}`);
  const selected = options.only.length ? COMPARE_SCENARIOS.filter((s) => options.only.includes(s.id)) : COMPARE_SCENARIOS;
  const startedAt = new Date();
  const loadAtStart = loadavg();
  const t0 = performance.now();
  const runId = randomBytes(3).toString('hex');
  const env = baseEnv();

  // A copy the stack keeps by reference: scenario 7 restarts the gateway with another ROOM_IDLE_MS.
  const stackEnv = { ...COMPARE_STACK_ENV };
  if (options.snapshotEveryEvents !== undefined) stackEnv.SNAPSHOT_EVERY_EVENTS = String(options.snapshotEveryEvents);
  // The S3 stand-in keeps its objects on tmpfs where there is one: S3 is never on the gateway's
  // or Postgres' disk in a deployment, and on this one-disk machine s3rver's file writes shared
  // the filesystem journal with Postgres' WAL fsyncs (half-load commit p99 25 ms instead of 10).
  s3 = process.env.S3_ENDPOINT ? undefined : await S3Server.start({ parentDir: existsSync(TMPFS) ? TMPFS : tmpdir() });
  stack = await TestStack.start({ name: 'cmp', gateways: 1, s3: s3 ?? 'env', env: stackEnv });
  const peerPort = await freePort();
  peer = ManagedProcess.start('peer', 'bench/peer-main.ts', { ...baseEnv(), PORT: String(peerPort), NODE_OPTIONS: `--require ${join(ROOT, 'bench/register.js')}` });
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  await waitFor('the peer to listen', async () => (await fetch(`${peerUrl}/health/live`).catch(() => undefined))?.ok, 30_000, 200);
  console.log(`compare: ours ${stack.gateways[0]!.url} (1 gateway, API ${stack.apiUrl}), peer ${peerUrl}; ${options.reps} repetitions per side, ${options.seconds} s windows, ${options.loadProcs} load process(es)`);

  pool = new Pool({ connectionString: env.DATABASE_URL, max: 4 });
  const api = new ApiClient(stack.apiUrl);
  const users: TestUser[] = await mapLimit(Array.from({ length: USERS }, (_, i) => i), 4, (i) => api.register(`cmp${i}`));
  const adminName = `cmp_admin_${runId}`;
  await stack.createAdmin(adminName, 'bench-admin-password');
  const admin = await api.login(adminName, 'bench-admin-password');
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const profiles: unknown[] = [];
  const profileGateway = async (ms: number, label: string) => {
    const gw = stack!.gateways[0]!;
    const inspector = await InspectorClient.connect(await inspectorUrlFrom(() => gw.proc.logs()));
    try {
      const profile = await profileFor(inspector, ms);
      const file = join(dir, `gateway-${label}-${stamp}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      const top = topSelfTime(profile, 25);
      profiles.push({ label, file: file.slice(ROOT.length + 1), top });
      console.log(`compare: gateway CPU profile (${label}) -> ${file.slice(ROOT.length + 1)}; top self time:`);
      for (const t of top) console.log(`  ${String(t.selfPercent).padStart(5)}%  ${t.fn}  ${t.where}`);
    } finally {
      inspector.close();
    }
  };
  const ctx: CompareContext = { stack, api, pool, users, admin, runId, peerUrl, peerPid: peer.pid, options, peerRate: {}, stackEnv, profileGateway };

  const results: Array<{ id: string; title: string; ok: boolean; error?: string; durationMs: number; figures: Figure[]; raw?: unknown }> = [];
  for (const scenario of selected) {
    console.log(`compare: ${scenario.id}: ${scenario.title} ...`);
    const at = performance.now();
    try {
      const { figures, raw } = await scenario.run(ctx);
      results.push({ id: scenario.id, title: scenario.title, ok: true, durationMs: round(performance.now() - at, 0), figures, raw });
      console.log(renderTable([{ id: scenario.id, ok: true, figures }]));
    } catch (err) {
      stopAllLoadProcs();
      results.push({ id: scenario.id, title: scenario.title, ok: false, error: (err as Error).message, durationMs: round(performance.now() - at, 0), figures: [] });
      console.log(`compare: ${scenario.id}: FAILED: ${(err as Error).stack ?? String(err)}`);
    }
  }

  const exits = await shutdown();
  const report = {
    suite: 'durable-rooms compare (ours vs baseline Socket.IO peer)',
    format: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    durationMs: round(performance.now() - t0, 0),
    git: gitInfo(),
    machine: machineInfo(),
    config: {
      ours: 'API + 1 gateway from dist/ on loopback, Postgres, Redis',
      s3: s3 ? `s3rver with its data in ${s3.dir}` : redact(process.env.S3_ENDPOINT!),
      peer: 'bench/peer.ts: plain Socket.IO server, same events, in-memory seq, no durability',
      load: `${options.loadProcs} forked load process(es) (bench/load-worker.ts) per run`,
      order: 'ours, peer alternately (A B A B ...)',
      reps: options.reps,
      windowSeconds: options.seconds,
      database: redact(env.DATABASE_URL!),
      redis: redact(env.REDIS_URL!),
      env: stackEnv,
      // What else the shared machine ran: 1/5/15-minute load averages (2 cores) at start and end.
      loadAverage: { atStart: loadAtStart, atEnd: loadavg() },
    },
    scenarios: results,
    figures: results.flatMap((r) => r.figures),
    profiles,
    processes: exits,
  };
  const file = join(dir, `compare-${stamp}.json`);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(file, json);
  writeFileSync(join(dir, 'compare-latest.json'), json);
  console.log('');
  console.log(renderTable(results));
  console.log('');
  console.log(`compare: wrote ${file.slice(ROOT.length + 1)} and bench-results/compare-latest.json (${round(report.durationMs / 1000, 1)} s)`);
  const failed = results.filter((r) => !r.ok);
  if (failed.length) console.log(`compare: FAILED scenarios: ${failed.map((r) => r.id).join(', ')}`);
  return failed.length ? 1 : 0;
}

if (require.main === module) {
  runEntryPoint({ name: 'compare', maxMs: WATCHDOG_MS, shutdown, logs: () => `${stack?.logs() ?? ''}\n${peer?.logs() ?? ''}`, run: main });
}
