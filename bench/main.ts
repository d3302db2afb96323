/**
 * `npm run bench` (via scripts/bench.sh, which installs, checks services, builds and migrates
 * first): starts the real stack (API + 2 gateways from dist/, own S3 server) on loopback, runs
 * the bounded scenarios of bench/scenarios.ts with Socket.IO clients in this process, stops
 * every process by PID, prints a table and writes bench-results/bench-<timestamp>.json and
 * bench-results/latest.json.
 *
 * `npm run bench -- soak [--rooms N]` runs the soak instead (bench/soak-main.ts, its own stack
 * with one gateway; scripts/bench.sh dispatches it).
 *
 * Environment: DATABASE_URL and REDIS_URL (scripts/bench.sh sets the bench database and Redis
 * DB 3), S3_* (optional: without S3_ENDPOINT the bench starts its own S3 server).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { gitInfo, machineInfo, redact } from './run-info';
import { ApiClient, type TestUser } from '../test/support/client';
import { baseEnv, ROOT } from '../test/support/processes';
import { type ExitInfo, TestStack } from '../test/support/stack';
import { closeAll, type Figure, mapLimit, type Member, round } from './lib';
import { renderTable } from './report';
import { type BenchContext, SCENARIOS } from './scenarios';
import { snapshotWave } from './snapshot-wave';
import { readSide } from './read-side';
import { runEntryPoint } from './entry-point';

/** The whole run must end within this; otherwise everything is stopped and the run fails. */
const WATCHDOG_MS = 12 * 60_000;
const USERS = 20;
/** Every scenario, in run order; `npm run bench -- <id> ...` runs only the named ones. */
const ALL_SCENARIOS = [...SCENARIOS, snapshotWave, readSide];

const STACK_ENV = {
  RATE_LIMIT_MSG_PER_SEC: '0',
  AUTH_RATE_LIMIT_PER_MIN: '0',
  SNAPSHOT_EVERY_EVENTS: '1000',
};

interface ScenarioResult {
  id: string;
  title: string;
  params: Record<string, unknown>;
  durationMs: number;
  ok: boolean;
  error?: string;
  figures: Figure[];
}

let stack: TestStack | undefined;
let pool: Pool | undefined;
const open = new Set<Member>();
let stopping: Promise<ExitInfo[]> | undefined;

/** Closes the sockets and the pool, stops every process of the stack by PID (once). */
function shutdown(): Promise<ExitInfo[]> {
  stopping ??= (async () => {
    closeAll(open);
    open.clear();
    await pool?.end().catch(() => undefined);
    return (await stack?.stop().catch(() => [])) ?? [];
  })();
  return stopping;
}

async function main(): Promise<number> {
  const only = process.argv.slice(2);
  const unknown = only.filter((id) => !ALL_SCENARIOS.some((s) => s.id === id));
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${ALL_SCENARIOS.map((s) => s.id).join(', ')}`);
  const selected = only.length ? ALL_SCENARIOS.filter((s) => only.includes(s.id)) : ALL_SCENARIOS;
  const startedAt = new Date();
  const t0 = performance.now();
  const runId = randomBytes(3).toString('hex');
  const env = baseEnv();
  console.log(`bench: starting API + 2 gateways from dist/ (database ${redact(env.DATABASE_URL!)}, redis ${redact(env.REDIS_URL!)}, ${process.env.S3_ENDPOINT ? `S3 ${process.env.S3_ENDPOINT}` : 'own S3 server'})`);
  stack = await TestStack.start({ name: 'bench', gateways: 2, s3: process.env.S3_ENDPOINT ? 'env' : 'own', env: STACK_ENV });
  console.log(`bench: stack up in ${round((performance.now() - t0) / 1000, 1)} s: api ${stack.apiUrl}, ${stack.gateways.map((g) => `${g.id} ${g.url}`).join(', ')}`);
  pool = new Pool({ connectionString: env.DATABASE_URL, max: 2 });
  const api = new ApiClient(stack.apiUrl);
  const users: TestUser[] = await mapLimit(Array.from({ length: USERS }, (_, i) => i), 4, (i) => api.register(`bench${i}`));
  const adminName = `bench_admin_${runId}`;
  await stack.createAdmin(adminName, 'bench-admin-password');
  const admin = await api.login(adminName, 'bench-admin-password');
  const ctx: BenchContext = { stack, api, pool, users, admin, runId, open };

  const results: ScenarioResult[] = [];
  for (const scenario of selected) {
    console.log(`bench: ${scenario.id}: ${scenario.title} ...`);
    const at = performance.now();
    try {
      const figures = await scenario.run(ctx);
      results.push({ id: scenario.id, title: scenario.title, params: scenario.params, durationMs: round(performance.now() - at, 0), ok: true, figures });
      console.log(`bench: ${scenario.id}: done in ${round((performance.now() - at) / 1000, 1)} s`);
    } catch (err) {
      const message = (err as Error).stack ?? String(err);
      results.push({ id: scenario.id, title: scenario.title, params: scenario.params, durationMs: round(performance.now() - at, 0), ok: false, error: (err as Error).message, figures: [] });
      console.log(`bench: ${scenario.id}: FAILED: ${message}`);
      console.log(stack.logs());
      closeAll(open);
      open.clear();
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  const exits = await shutdown();
  const finishedAt = new Date();
  const report = {
    suite: 'durable-rooms bench',
    format: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: round(performance.now() - t0, 0),
    git: gitInfo(),
    machine: machineInfo(),
    config: {
      stack: 'API + 2 gateways from dist/ on loopback; clients: socket.io-client in the bench process',
      database: redact(env.DATABASE_URL!),
      redis: redact(env.REDIS_URL!),
      s3: process.env.S3_ENDPOINT ? 'env' : 'own s3rver (scripts/s3-server.mjs, temp dir)',
      env: { ...STACK_ENV, GATEWAY_TTL_SECONDS: env.GATEWAY_TTL_SECONDS, NODE_ENV: env.NODE_ENV },
      users: USERS,
    },
    scenarios: results,
    figures: results.flatMap((r) => r.figures),
    processes: exits,
  };
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${stamp}.json`);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(file, json);
  writeFileSync(join(dir, 'latest.json'), json);

  console.log('');
  console.log(renderTable(results));
  console.log('');
  console.log(`bench: wrote ${file.slice(ROOT.length + 1)} and bench-results/latest.json (${round(report.durationMs / 1000, 1)} s)`);
  const failed = results.filter((r) => !r.ok);
  if (failed.length) console.log(`bench: FAILED scenarios: ${failed.map((r) => r.id).join(', ')}`);
  return failed.length ? 1 : 0;
}

runEntryPoint({ name: 'bench', maxMs: WATCHDOG_MS, shutdown, logs: () => stack?.logs(), run: main });
