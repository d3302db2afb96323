/**
 * `npm run bench -- fleet [--gateways 5] [--rooms 3000] [--senders N] [--pause-ms N] [--after-rooms N]
 * [--footprint-rooms N] [--footprint-sockets N] [--load-seconds N]` (scripts/bench.sh installs,
 * builds and resets the bench database first). Two parts, each on a stack of its own (same
 * database, Redis and S3 server), every process stopped by PID:
 *
 * 1. footprint (bench/footprint.ts): ONE gateway (`ROOM_IDLE_MS=0`, inspector on a free
 *    loopback port): memory per idle room and per socket after a full GC, msgs/s per gateway.
 *    `--footprint-rooms 0` skips it.
 * 2. fleet (bench/fleet.ts): N gateways, the rooms with a member each, senders throughout, a
 *    rolling restart of every gateway, rooms placed afterwards, the exactly-once log check.
 *
 * Prints each step and a table, writes bench-results/fleet-<timestamp>.json. Exit code 1 when
 * correctness was lost (an acknowledged message missing or doubled, a sender that gave up, a
 * gateway that did not exit 0 after its drain); figures are reported, not enforced.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { ApiClient, type TestUser } from '../test/support/client';
import { closeRooms, type FleetRoom } from '../test/support/fleet';
import { InspectorClient, inspectorUrlFrom } from '../test/support/inspector';
import { baseEnv, ROOT } from '../test/support/processes';
import { S3Server } from '../test/support/s3-server';
import { type ExitInfo, TestStack } from '../test/support/stack';
import { type FleetParams, type FleetSummary, runFleet } from './fleet';
import { type FootprintParams, type FootprintSummary, runFootprint } from './footprint';
import { type Figure, mapLimit, round } from './lib';
import { renderTable } from './report';
import { gitInfo, machineInfo, redact } from './run-info';
import { runEntryPoint } from './entry-point';

const USERS = 40;
const BASE_ENV = { RATE_LIMIT_MSG_PER_SEC: '0', AUTH_RATE_LIMIT_PER_MIN: '0' };
const FOOTPRINT_ENV = { ...BASE_ENV, ROOM_IDLE_MS: '0', NODE_OPTIONS: '--inspect=127.0.0.1:0' };

type Key = keyof FleetParams | 'footprintRooms' | 'footprintSockets' | 'loadSeconds' | 'maxMinutes';
const OPTIONS: Record<string, { key: Key; help: string }> = {
  '--gateways': { key: 'gateways', help: 'gateways of the fleet, 2-8 (default 5)' },
  '--rooms': { key: 'rooms', help: 'rooms, each with a connected member (default 3000)' },
  '--senders': { key: 'senders', help: 'of those, rooms whose member keeps sending (default 60)' },
  '--pause-ms': { key: 'pauseMs', help: "a sender's pause between an ack and its next send (default 250)" },
  '--after-rooms': { key: 'afterRooms', help: 'rooms created after the restart (default rooms / (gateways - 1): what the last-restarted gateway lacks)' },
  '--footprint-rooms': { key: 'footprintRooms', help: 'idle rooms for the memory reading; 0 skips the footprint part (default 2000)' },
  '--footprint-sockets': { key: 'footprintSockets', help: 'sockets for the memory reading (default 2000)' },
  '--load-seconds': { key: 'loadSeconds', help: 'throughput window of the footprint part (default 10)' },
  '--max-minutes': { key: 'maxMinutes', help: 'bound on the whole run (default 20)' },
};

function parseArgs(argv: string[]): { fleet: FleetParams; footprint: FootprintParams; maxMinutes: number } {
  const given: Partial<Record<Key, number>> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const option = OPTIONS[argv[i]!];
    const value = Number(argv[i + 1]);
    if (!option || !Number.isFinite(value) || value < 0) {
      const usage = Object.entries(OPTIONS)
        .map(([flag, o]) => `  ${flag} N  ${o.help}`)
        .join('\n');
      throw new Error(`bad argument ${argv[i]} ${argv[i + 1] ?? ''}; usage: npm run bench -- fleet [options]\n${usage}`);
    }
    given[option.key] = value;
  }
  const gateways = Math.floor(given.gateways ?? 5);
  if (gateways < 2 || gateways > 8) throw new Error('--gateways must be 2-8');
  const rooms = Math.floor(given.rooms ?? 3000);
  const fleet: FleetParams = {
    gateways,
    rooms,
    senders: Math.min(rooms, Math.floor(given.senders ?? 60)),
    pauseMs: given.pauseMs ?? 250,
    afterRooms: Math.floor(given.afterRooms ?? Math.ceil(rooms / (gateways - 1))),
    concurrency: 16,
  };
  const footprintRooms = Math.floor(given.footprintRooms ?? 2000);
  // Ten sockets a room, as in a small chat room, over at most every room.
  const sockets = Math.min(Math.floor(given.footprintSockets ?? 2000), footprintRooms * 10);
  const footprint: FootprintParams = {
    rooms: footprintRooms,
    historyMessages: 10,
    sockets,
    socketsPerRoom: 10,
    loadMembers: Math.min(100, Math.ceil(sockets / 10)),
    inFlight: 4,
    loadSeconds: given.loadSeconds ?? 10,
    concurrency: 16,
  };
  return { fleet, footprint, maxMinutes: given.maxMinutes ?? 20 };
}

let stack: TestStack | undefined;
let s3: S3Server | undefined;
let pool: Pool | undefined;
let inspector: InspectorClient | undefined;
const rooms: FleetRoom[] = [];
const exits: ExitInfo[] = [];

async function stopStack(): Promise<void> {
  inspector?.close();
  inspector = undefined;
  closeRooms(rooms);
  const current = stack;
  stack = undefined;
  if (current) exits.push(...(await current.stop().catch(() => [])));
}

let stopping: Promise<void> | undefined;
function shutdown(): Promise<void> {
  stopping ??= (async () => {
    await stopStack();
    await pool?.end().catch(() => undefined);
    await s3?.destroy().catch(() => undefined);
  })();
  return stopping;
}

async function signIn(api: ApiClient, name: string, runId: string): Promise<{ users: TestUser[]; admin: TestUser }> {
  const users = await mapLimit(Array.from({ length: USERS }, (_, i) => i), 4, (i) => api.register(`${name}${i}`));
  await stack!.createAdmin(`${name}_admin_${runId}`, 'fleet-admin-password');
  return { users, admin: await api.login(`${name}_admin_${runId}`, 'fleet-admin-password') };
}

async function main(fleetParams: FleetParams, footprintParams: FootprintParams): Promise<number> {
  const startedAt = new Date();
  const t0 = performance.now();
  const runId = randomBytes(3).toString('hex');
  const env = baseEnv();
  const log = (line: string) => console.log(line);
  console.log(`fleet: database ${redact(env.DATABASE_URL!)}, redis ${redact(env.REDIS_URL!)}, ${process.env.S3_ENDPOINT ? `S3 ${process.env.S3_ENDPOINT}` : 'own S3 server'}`);
  if (!process.env.S3_ENDPOINT) s3 = await S3Server.start();
  const s3Option = s3 ?? 'env';
  pool = new Pool({ connectionString: env.DATABASE_URL, max: 2 });

  let footprint: { summary: FootprintSummary; figures: Figure[] } | undefined;
  if (footprintParams.rooms > 0) {
    console.log(`footprint: 1 gateway, ${footprintParams.rooms} idle rooms, ${footprintParams.sockets} sockets, ${footprintParams.loadSeconds} s of load`);
    stack = await TestStack.start({ name: 'footprint', gateways: 1, s3: s3Option, env: FOOTPRINT_ENV });
    const gw = stack.gateways[0]!;
    inspector = await InspectorClient.connect(await inspectorUrlFrom(() => gw.proc.logs()));
    const api = new ApiClient(stack.apiUrl);
    const { users } = await signIn(api, 'fp', runId);
    footprint = await runFootprint({ api, users, gateway: { id: gw.id, url: gw.url }, inspector, runId, log }, footprintParams);
    await stopStack();
  }

  console.log(`fleet: ${fleetParams.gateways} gateways, ${fleetParams.rooms} rooms (${fleetParams.senders} sending), then ${fleetParams.afterRooms} new rooms`);
  stack = await TestStack.start({ name: 'fleet', gateways: fleetParams.gateways, s3: s3Option, env: BASE_ENV });
  const api = new ApiClient(stack.apiUrl);
  const { users, admin } = await signIn(api, 'fleet', runId);
  console.log(`fleet: stack up: api ${stack.apiUrl}, ${stack.gateways.map((g) => `${g.id} ${g.url}`).join(', ')}`);
  const fleet = await runFleet({ stack, api, admin, users, pool, redisUrl: env.REDIS_URL!, runId, rooms, log }, fleetParams);
  await shutdown();

  const report = {
    suite: 'durable-rooms fleet',
    format: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    durationMs: round(performance.now() - t0, 0),
    git: gitInfo(),
    machine: machineInfo(),
    config: {
      stacks: 'footprint: API + 1 gateway; fleet: API + N gateways; from dist/ on loopback, one S3 server; clients: socket.io-client in the bench process',
      database: redact(env.DATABASE_URL!),
      redis: redact(env.REDIS_URL!),
      env: { fleet: BASE_ENV, footprint: FOOTPRINT_ENV, GATEWAY_TTL_SECONDS: env.GATEWAY_TTL_SECONDS, NODE_ENV: env.NODE_ENV },
      users: USERS,
      fleet: fleetParams,
      footprint: footprintParams,
    },
    footprint: footprint?.summary ?? null,
    fleet: fleet.summary satisfies FleetSummary,
    problems: fleet.problems,
    figures: [...(footprint?.figures ?? []), ...fleet.figures],
    processes: exits,
  };
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `fleet-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

  console.log('');
  console.log(renderTable([...(footprint ? [{ id: 'footprint', ok: true, figures: footprint.figures }] : []), { id: 'fleet', ok: true, figures: fleet.figures }]));
  console.log('');
  console.log(`fleet: wrote ${file.slice(ROOT.length + 1)} (${round(report.durationMs / 1000, 1)} s in all)`);
  for (const problem of fleet.problems) console.log(`fleet: PROBLEM: ${problem}`);
  return fleet.problems.length ? 1 : 0;
}

let parsed: ReturnType<typeof parseArgs>;
try {
  parsed = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`fleet: ${(err as Error).message}`);
  process.exit(2);
}

runEntryPoint({
  name: 'fleet',
  maxMs: parsed.maxMinutes * 60_000,
  shutdown,
  logs: () => stack?.logs(),
  run: () => main(parsed.fleet, parsed.footprint),
});
