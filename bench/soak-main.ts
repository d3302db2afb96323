/**
 * `npm run bench -- soak [--rooms N] [--concurrency N] [--hostile-every N] [--sample-ms N] [--profile-s N]`
 * (scripts/bench.sh installs, builds and resets the bench database first): starts its own stack
 * with ONE gateway (ROOM_IDLE_MS=2000, rate limits off, inspector on a free loopback port),
 * runs bench/soak.ts, stops every process by PID, prints the time series and a table and writes
 * bench-results/soak-<timestamp>.json.
 *
 * Exit code: 1 when the run broke or lost correctness (an acknowledged message missing, a room
 * that failed or never unloaded); the RSS and loop-delay targets are reported, not enforced.
 * The run has its own bound (`--max-minutes`, default 5 min + 45 ms a room).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { ApiClient, type TestUser } from '../test/support/client';
import { InspectorClient, inspectorUrlFrom } from '../test/support/inspector';
import { baseEnv, ROOT } from '../test/support/processes';
import { type ExitInfo, TestStack } from '../test/support/stack';
import { mapLimit, round } from './lib';
import { renderTable } from './report';
import { gitInfo, machineInfo, redact } from './run-info';
import { runSoak, type SoakParams } from './soak';
import { runEntryPoint } from './entry-point';

const ROOM_IDLE_MS = 2_000;
const USERS = 20;

const STACK_ENV = {
  RATE_LIMIT_MSG_PER_SEC: '0',
  AUTH_RATE_LIMIT_PER_MIN: '0',
  ROOM_IDLE_MS: String(ROOM_IDLE_MS),
  // Each process's inspector on a free port (printed on stderr): the soak asks the gateway's for
  // a full GC before its heap readings. Nothing else connects to it.
  NODE_OPTIONS: '--inspect=127.0.0.1:0',
};

const OPTIONS: Record<string, { key: keyof SoakParams | 'maxMinutes'; help: string }> = {
  '--rooms': { key: 'rooms', help: 'rooms to churn (default 20000)' },
  '--concurrency': { key: 'concurrency', help: 'rooms churned at once (default 48)' },
  '--hostile-every': { key: 'hostileEvery', help: 'every Nth room gets a hostile sender (default 100)' },
  '--sample-ms': { key: 'sampleEveryMs', help: 'period of the time series (default 5000)' },
  '--profile-s': { key: 'profileMs', help: 'CPU-profile the gateway this many seconds from the baseline on (default: no profile)' },
  '--max-minutes': { key: 'maxMinutes', help: 'bound on the whole run (default 5 + 0.00075 x rooms)' },
};

function parseArgs(argv: string[]): { params: SoakParams; maxMinutes: number } {
  const given: Record<string, number> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const option = OPTIONS[argv[i]!];
    const value = Number(argv[i + 1]);
    if (!option || !Number.isFinite(value) || value <= 0) {
      const usage = Object.entries(OPTIONS)
        .map(([flag, o]) => `  ${flag} N  ${o.help}`)
        .join('\n');
      throw new Error(`bad argument ${argv[i]} ${argv[i + 1] ?? ''}; usage: npm run bench -- soak [options]\n${usage}`);
    }
    given[option.key] = value;
  }
  const rooms = Math.floor(given.rooms ?? 20_000);
  const params: SoakParams = {
    rooms,
    concurrency: given.concurrency ?? 48,
    messagesPerRoom: 5,
    hostileEvery: given.hostileEvery ?? 100,
    sampleEveryMs: given.sampleEveryMs ?? 5_000,
    // The acceptance's reference point; half the run for a short one.
    baselineRooms: Math.min(1_000, Math.floor(rooms / 2)),
    unloadTimeoutMs: 120_000,
    idleSettleMs: 10_000,
    roomIdleMs: ROOM_IDLE_MS,
    profileMs: (given.profileMs ?? 0) * 1000,
  };
  return { params, maxMinutes: given.maxMinutes ?? 5 + rooms * 0.00075 };
}

let stack: TestStack | undefined;
let pool: Pool | undefined;
let inspector: InspectorClient | undefined;
let stopping: Promise<ExitInfo[]> | undefined;

function shutdown(): Promise<ExitInfo[]> {
  stopping ??= (async () => {
    inspector?.close();
    await pool?.end().catch(() => undefined);
    return (await stack?.stop().catch(() => [])) ?? [];
  })();
  return stopping;
}

async function main(params: SoakParams, maxMinutes: number): Promise<number> {
  const startedAt = new Date();
  const t0 = performance.now();
  const runId = randomBytes(3).toString('hex');
  const env = baseEnv();
  console.log(`soak: ${params.rooms} rooms, ${params.concurrency} at a time, hostile sender every ${params.hostileEvery}, bound ${round(maxMinutes, 1)} min`);
  console.log(`soak: starting API + 1 gateway from dist/ (database ${redact(env.DATABASE_URL!)}, redis ${redact(env.REDIS_URL!)}, ${process.env.S3_ENDPOINT ? `S3 ${process.env.S3_ENDPOINT}` : 'own S3 server'})`);
  stack = await TestStack.start({ name: 'soak', gateways: 1, s3: process.env.S3_ENDPOINT ? 'env' : 'own', env: STACK_ENV });
  const gw = stack.gateways[0]!;
  try {
    inspector = await InspectorClient.connect(await inspectorUrlFrom(() => gw.proc.logs()));
  } catch (err) {
    console.log(`soak: no inspector on the gateway (${(err as Error).message}); heap readings without a forced GC are left out`);
  }
  pool = new Pool({ connectionString: env.DATABASE_URL, max: 2 });
  const api = new ApiClient(stack.apiUrl);
  const users: TestUser[] = await mapLimit(Array.from({ length: USERS }, (_, i) => i), 4, (i) => api.register(`soak${i}`));
  const hostile = await api.register('mallory');
  await stack.createAdmin(`soak_admin_${runId}`, 'soak-admin-password');
  const admin = await api.login(`soak_admin_${runId}`, 'soak-admin-password');
  console.log(`soak: stack up in ${round((performance.now() - t0) / 1000, 1)} s: api ${stack.apiUrl}, gateway ${gw.id} ${gw.url}`);

  const result = await runSoak(
    { api, pool, gateway: { id: gw.id, url: gw.url }, users, hostile, admin, runId, inspector, log: (line) => console.log(line) },
    params,
  );
  const exits = await shutdown();

  const report = {
    suite: 'durable-rooms soak',
    format: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    durationMs: round(performance.now() - t0, 0),
    git: gitInfo(),
    machine: machineInfo(),
    config: {
      stack: 'API + 1 gateway from dist/ on loopback; clients: socket.io-client in the bench process',
      database: redact(env.DATABASE_URL!),
      redis: redact(env.REDIS_URL!),
      env: { ...STACK_ENV, GATEWAY_TTL_SECONDS: env.GATEWAY_TTL_SECONDS, NODE_ENV: env.NODE_ENV },
      users: USERS,
      params,
      perRoom: `create (POST /rooms), enter (POST /rooms/:id/connection, Socket.IO, room:join), ${params.messagesPerRoom} sends one after another, disconnect`,
    },
    summary: result.summary,
    problems: result.problems,
    figures: result.figures,
    series: result.series,
    processes: exits,
  };
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const file = join(dir, `soak-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  if (result.profile) writeFileSync(join(dir, `soak-${stamp}.cpuprofile`), JSON.stringify(result.profile));

  console.log('');
  console.log(renderTable([{ id: 'soak', ok: true, figures: result.figures }]));
  console.log('');
  if (result.summary.profile) {
    const { fromT, toT, top } = result.summary.profile;
    console.log(`soak: gateway CPU profile t=${fromT}-${toT} s (bench-results/soak-${stamp}.cpuprofile), heaviest self time:`);
    for (const hot of top) console.log(`  ${String(hot.selfPercent).padStart(5)}%  ${hot.fn}  ${hot.where}`);
    console.log('');
  }
  console.log(`soak: wrote ${file.slice(ROOT.length + 1)} (${round(report.durationMs / 1000, 1)} s in all)`);
  for (const problem of result.problems) console.log(`soak: PROBLEM: ${problem}`);
  return result.problems.length ? 1 : 0;
}

let parsed: ReturnType<typeof parseArgs>;
try {
  parsed = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`soak: ${(err as Error).message}`);
  process.exit(2);
}

runEntryPoint({
  name: 'soak',
  maxMs: parsed.maxMinutes * 60_000,
  shutdown,
  logs: () => stack?.logs(),
  run: () => main(parsed.params, parsed.maxMinutes),
});
