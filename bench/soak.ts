/**
 * The soak (issue 7, acceptance 4): many rooms churned through ONE gateway with hostile senders
 * mixed in, sampled over time from the gateway's `/metrics` (RSS, heap, rooms loaded, loop
 * delay) and the clients (ack p99 of each window), then left idle until every room unloaded.
 * Run by bench/soak-main.ts, which owns the stack; this module owns the load and the figures.
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Pool } from 'pg';
import type { ApiClient, TestUser } from '../test/support/client';
import { type GatewayGauges, mib, readGatewayGauges } from '../test/support/gateway-gauges';
import type { InspectorClient } from '../test/support/inspector';
import { churnRoom, type ChurnedRoom, type HostileOutcome, sendHostile } from '../test/support/room-churn';
import { type CpuProfile, type HotFunction, profileFor, topSelfTime } from './cpu-profile';
import { distribution, type Distribution, type Figure, mapLimit, round, sleep } from './lib';

export interface SoakParams {
  rooms: number;
  /** Rooms churned at once (each: create, enter, send, leave). */
  concurrency: number;
  messagesPerRoom: number;
  /** Every Nth room also gets a hostile sender while it is in use. */
  hostileEvery: number;
  /** Period of the time series (and of the loop-delay windows). */
  sampleEveryMs: number;
  /** RSS is compared against its level once this many rooms were churned. */
  baselineRooms: number;
  /** After the churn: how long to wait for rooms loaded to reach 0. */
  unloadTimeoutMs: number;
  /** Once no room is loaded, keep sampling this long before reading the idle RSS. */
  idleSettleMs: number;
  roomIdleMs: number;
  /** When > 0: a CPU profile of the gateway this long, from the baseline on (costs it some CPU). */
  profileMs: number;
}

export interface SoakContext {
  api: ApiClient;
  pool: Pool;
  gateway: { id: string; url: string };
  users: TestUser[];
  hostile: TestUser;
  admin: TestUser;
  runId: string;
  /** The gateway's inspector, for heap readings after a full GC before and after the run. */
  inspector: InspectorClient | undefined;
  log: (line: string) => void;
}

export interface SoakSample {
  /** Seconds since the churn started. */
  t: number;
  phase: 'churn' | 'idle';
  /** Set on the sample taken when the baseline room count was reached. */
  mark?: string;
  roomsDone: number;
  roomsLoaded: number;
  sockets: number;
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  loopP50Ms: number | null;
  loopP99Ms: number | null;
  /** Legitimate sends acknowledged in this window, and their ack p99. */
  acks: number;
  ackP99Ms: number | null;
  gatewayCpuPercent: number;
  benchCpuPercent: number;
  /** Busy share of all the machine's cores in this window: when it nears 100, loop delay includes waiting for a core. */
  machineCpuPercent: number;
  /** The machine's 1-minute load average: other work on a shared machine shows up as loop delay. */
  load1: number;
}

/** Busy and total CPU time of every core so far (ms). */
function machineCpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

export interface SoakSummary {
  rooms: number;
  roomsChurned: number;
  roomsFailed: number;
  failures: string[];
  churnSeconds: number;
  roomsPerSecond: number;
  unloadedSecondsAfterChurn: number | null;
  adminRoomsLoadedOnceIdle: number;
  roomsLoadedPeak: number;
  rssBaselineMiB: number | null;
  rssBaselineAt: { t: number; roomsDone: number; roomsLoaded: number } | null;
  rssIdleMiB: number | null;
  rssRatio: number;
  rssPeakMiB: number;
  rssPeakAt: { t: number; roomsDone: number; roomsLoaded: number };
  heapUsedBaselineMiB: number | null;
  heapUsedIdleMiB: number | null;
  heapAfterGcStartMiB: number | null;
  heapAfterGcEndMiB: number | null;
  loopDelaySource: string;
  /** Mean 1-minute load average over the samples, and the cores it shares (contention inflates loop delay). */
  machineLoad: { load1Mean: number; load1Max: number; cpus: number; churnCpuPercentMean: number };
  loopP99MaxMs: number;
  /** The median window of the churn: one stall moves the max, not this. */
  loopP99MedianMs: number;
  loopP99MaxAt: { t: number; phase: string; roomsLoaded: number } | null;
  ack: Distribution;
  ackP99WorstWindowMs: number | null;
  legitResent: number;
  hostileSenders: number;
  hostileByCode: Record<string, number>;
  hostileByKind: Record<string, Record<string, number>>;
  log: { acked: number; inLog: number; lost: number; unexpected: number; hostileMessagesInLog: number };
  /** Its heaviest functions, and when it ran (seconds since the churn started). */
  profile: { fromT: number; toT: number; top: HotFunction[] } | null;
  targets: { rssRatio: { target: string; met: boolean }; loopP99MaxMs: { target: string; met: boolean } };
}

export interface SoakResult {
  figures: Figure[];
  series: SoakSample[];
  summary: SoakSummary;
  /** The gateway's CPU profile, when one was asked for. */
  profile?: CpuProfile;
  /** Correctness problems (lost acks, failed rooms, rooms that never unloaded): the run fails. */
  problems: string[];
}

const TARGET_RSS_RATIO = 1.3;
const TARGET_LOOP_P99_MS = 50;

/** Samples the gateway over time; every scrape resets the gateway's loop-delay window. */
class SoakSampler {
  readonly series: SoakSample[] = [];
  private windowAcks: number[] = [];
  /** Every legitimate ack latency of the run (ms). */
  readonly allAcks: number[] = [];
  private last: { at: number; cpu: number; benchCpu: NodeJS.CpuUsage; machine: { busy: number; total: number } } | undefined;
  loopSource: string | undefined;

  constructor(
    private readonly gatewayUrl: string,
    private readonly startedAt: number,
  ) {}

  recordAck(ms: number): void {
    this.windowAcks.push(ms);
    this.allAcks.push(ms);
  }

  async sample(phase: SoakSample['phase'], roomsDone: number, mark?: string): Promise<SoakSample> {
    const g: GatewayGauges = await readGatewayGauges(this.gatewayUrl);
    const at = performance.now();
    const benchCpu = process.cpuUsage();
    const machine = machineCpuTimes();
    const acks = this.windowAcks;
    this.windowAcks = [];
    const elapsed = this.last ? (at - this.last.at) / 1000 : 0;
    const cpuPercent = (used: number) => (elapsed > 0 ? round((used / elapsed) * 100, 0) : 0);
    const benchUsed = this.last ? (benchCpu.user - this.last.benchCpu.user + benchCpu.system - this.last.benchCpu.system) / 1e6 : 0;
    const sample: SoakSample = {
      t: round((at - this.startedAt) / 1000, 1),
      phase,
      ...(mark ? { mark } : {}),
      roomsDone,
      roomsLoaded: g.roomsLoaded,
      sockets: g.sockets,
      rssMiB: mib(g.rssBytes),
      heapUsedMiB: mib(g.heapUsedBytes),
      heapTotalMiB: mib(g.heapTotalBytes),
      loopP50Ms: g.loop ? round(g.loop.p50Ms, 1) : null,
      loopP99Ms: g.loop ? round(g.loop.p99Ms, 1) : null,
      acks: acks.length,
      ackP99Ms: acks.length ? distribution(acks).p99 : null,
      gatewayCpuPercent: this.last ? cpuPercent(g.cpuSeconds - this.last.cpu) : 0,
      benchCpuPercent: cpuPercent(benchUsed),
      machineCpuPercent: this.last && machine.total > this.last.machine.total ? round(((machine.busy - this.last.machine.busy) / (machine.total - this.last.machine.total)) * 100, 0) : 0,
      load1: round(loadavg()[0]!, 1),
    };
    this.loopSource ??= g.loop?.source;
    this.last = { at, cpu: g.cpuSeconds, benchCpu, machine };
    this.series.push(sample);
    return sample;
  }
}

export function formatSample(s: SoakSample, totalRooms: number): string {
  const num = (v: number | null, digits = 1) => (v === null ? '-' : v.toFixed(digits));
  return (
    `soak: ${s.phase.padEnd(5)} t=${s.t.toFixed(0).padStart(4)}s rooms ${String(s.roomsDone).padStart(String(totalRooms).length)}/${totalRooms}` +
    ` loaded ${String(s.roomsLoaded).padStart(4)} sockets ${String(s.sockets).padStart(3)}` +
    ` rss ${num(s.rssMiB)} heap ${num(s.heapUsedMiB)} MiB loop p99 ${num(s.loopP99Ms)} ms` +
    ` ack p99 ${num(s.ackP99Ms)} ms (n=${s.acks}) cpu gw ${s.gatewayCpuPercent}% bench ${s.benchCpuPercent}% machine ${s.machineCpuPercent}% load ${s.load1}${s.mark ? `  <- ${s.mark}` : ''}`
  );
}

async function heapAfterGc(ctx: SoakContext): Promise<number | null> {
  if (!ctx.inspector) return null;
  await ctx.inspector.collectGarbage();
  return mib((await readGatewayGauges(ctx.gateway.url)).heapUsedBytes);
}

async function adminRoomsLoaded(ctx: SoakContext): Promise<number> {
  const res = await ctx.api.request<{ gateways: Array<{ id: string; rooms: number }> }>('GET', '/admin/gateways', { token: ctx.admin.token });
  if (res.status !== 200) throw new Error(`GET /admin/gateways: ${res.status}`);
  return res.body.gateways.find((g) => g.id === ctx.gateway.id)?.rooms ?? NaN;
}

/** Every acknowledged message is in the log at its acked seq, and no other message of the churn is. */
async function checkLog(ctx: SoakContext, prefix: string, churned: ChurnedRoom[]) {
  const expected = new Map<string, number>();
  for (const room of churned) for (const a of room.acked) expected.set(`${room.roomId}/${a.clientMsgId}`, a.seq);
  const { rows } = await ctx.pool.query<{ room_id: string; client_msg_id: string; seq: number }>(
    `SELECT room_id, client_msg_id, seq FROM room_events WHERE type = 'message.posted' AND client_msg_id LIKE $1`,
    [`${prefix}-%`],
  );
  let matching = 0;
  let unexpected = 0;
  for (const row of rows) {
    if (expected.get(`${row.room_id}/${row.client_msg_id}`) === row.seq) matching++;
    else unexpected++;
  }
  const hostileRows = await ctx.pool.query<{ n: string }>('SELECT count(*) AS n FROM room_events WHERE actor_id = $1 AND type = $2', [ctx.hostile.user.id, 'message.posted']);
  return { acked: expected.size, inLog: rows.length, lost: expected.size - matching, unexpected, hostileMessagesInLog: Number(hostileRows.rows[0]!.n) };
}

export async function runSoak(ctx: SoakContext, p: SoakParams): Promise<SoakResult> {
  const prefix = `${ctx.runId}-s`;
  const problems: string[] = [];
  const heapStartMiB = await heapAfterGc(ctx);
  const startedAt = performance.now();
  const sampler = new SoakSampler(ctx.gateway.url, startedAt);
  const churned: ChurnedRoom[] = [];
  const failures: string[] = [];
  const hostile: HostileOutcome[] = [];
  let hostileSenders = 0;
  let resent = 0;
  let done = 0;
  let baseline: SoakSample | undefined;
  let baselinePending: Promise<void> | undefined;
  let profiling: Promise<{ fromT: number; toT: number; profile: CpuProfile }> | undefined;

  let churning = true;
  let wake: () => void = () => undefined;
  const periodic = (async () => {
    await sampler.sample('churn', 0);
    while (churning) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, p.sampleEveryMs);
      });
      if (churning) ctx.log(formatSample(await sampler.sample('churn', done), p.rooms));
    }
  })();

  await mapLimit(
    Array.from({ length: p.rooms }, (_, i) => i),
    p.concurrency,
    async (i) => {
      const user = ctx.users[i % ctx.users.length]!;
      const alongside =
        i % p.hostileEvery === p.hostileEvery - 1
          ? async (roomId: string) => {
              hostileSenders++;
              hostile.push(...(await sendHostile(ctx.api, ctx.hostile, roomId, `${ctx.runId}-hostile-${i}`)));
            }
          : undefined;
      try {
        const room = await churnRoom(ctx.api, user, i, { prefix, messages: p.messagesPerRoom, onAck: (ms) => sampler.recordAck(ms), alongside });
        churned.push(room);
        resent += room.resent;
      } catch (err) {
        failures.push(`room ${i}: ${(err as Error).message}`);
      }
      done++;
      if (done === p.baselineRooms) {
        baselinePending = sampler.sample('churn', done, `after ${p.baselineRooms} rooms`).then((s) => {
          baseline = s;
          ctx.log(formatSample(s, p.rooms));
        });
        if (p.profileMs > 0 && ctx.inspector) {
          const fromT = round((performance.now() - startedAt) / 1000, 1);
          profiling = profileFor(ctx.inspector, p.profileMs).then((profile) => ({ fromT, toT: round((performance.now() - startedAt) / 1000, 1), profile }));
        }
      }
    },
  );
  const churnMs = performance.now() - startedAt;
  churning = false;
  wake();
  await periodic;
  await baselinePending;
  const profiled = await profiling;
  ctx.log(`soak: churn of ${p.rooms} rooms done in ${round(churnMs / 1000, 1)} s (${round(p.rooms / (churnMs / 1000), 1)} rooms/s); waiting for every room to unload`);

  // Idle: wait until no room is loaded, then let the process settle before the idle reading.
  const unloadDeadline = performance.now() + p.unloadTimeoutMs;
  let zeroAt: number | undefined;
  let idle: SoakSample | undefined;
  while (performance.now() < unloadDeadline) {
    await sleep(Math.min(p.sampleEveryMs, 1_000));
    const s = await sampler.sample('idle', done);
    if (s.roomsLoaded === 0) zeroAt ??= performance.now();
    else zeroAt = undefined;
    if (zeroAt !== undefined && performance.now() - zeroAt >= p.idleSettleMs) {
      idle = s;
      ctx.log(formatSample(s, p.rooms));
      break;
    }
    if (sampler.series.filter((x) => x.phase === 'idle').length % 5 === 1) ctx.log(formatSample(s, p.rooms));
  }
  const unloadedMs = zeroAt === undefined ? null : zeroAt - startedAt - churnMs;
  const adminLoaded = await adminRoomsLoaded(ctx);
  if (!idle) problems.push(`rooms loaded did not reach 0 (and stay there ${p.idleSettleMs} ms) within ${p.unloadTimeoutMs} ms of the churn's end`);
  if (adminLoaded !== 0) problems.push(`GET /admin/gateways says ${adminLoaded} room(s) loaded once idle`);
  const heapEndMiB = await heapAfterGc(ctx);

  const log = await checkLog(ctx, prefix, churned);
  if (log.lost) problems.push(`${log.lost} acknowledged message(s) missing from the log or at another seq`);
  if (log.unexpected) problems.push(`${log.unexpected} message(s) of the churn in the log that were not acknowledged at that seq`);
  if (failures.length) problems.push(`${failures.length} room(s) failed: ${failures.slice(0, 3).join('; ')}`);

  const series = sampler.series;
  // The first sample opens the first window; it covers nothing of the churn.
  const churnSamples = series.filter((x) => x.phase === 'churn').slice(1);
  const loopValues = series.map((s) => s.loopP99Ms).filter((v): v is number => v !== null);
  const loopMax = loopValues.length ? Math.max(...loopValues) : NaN;
  const loopMaxAt = series.find((s) => s.loopP99Ms === loopMax);
  const rssRatio = baseline && idle ? round(idle.rssMiB / baseline.rssMiB, 3) : NaN;
  const ackWindows = series.map((s) => s.ackP99Ms).filter((v): v is number => v !== null);
  const hostileByCode: Record<string, number> = {};
  for (const h of hostile) hostileByCode[h.code] = (hostileByCode[h.code] ?? 0) + 1;
  const hostileByKind: Record<string, Record<string, number>> = {};
  for (const h of hostile) (hostileByKind[h.what] ??= {})[h.code] = (hostileByKind[h.what]![h.code] ?? 0) + 1;
  const peak = series.reduce((m, s) => (s.rssMiB > m.rssMiB ? s : m), series[0]!);
  const acks = distribution(sampler.allAcks);

  const summary: SoakSummary = {
    rooms: p.rooms,
    roomsChurned: churned.length,
    roomsFailed: failures.length,
    failures: failures.slice(0, 20),
    churnSeconds: round(churnMs / 1000, 1),
    roomsPerSecond: round(p.rooms / (churnMs / 1000), 1),
    unloadedSecondsAfterChurn: unloadedMs === null ? null : round(unloadedMs / 1000, 1),
    adminRoomsLoadedOnceIdle: adminLoaded,
    roomsLoadedPeak: Math.max(...series.map((s) => s.roomsLoaded)),
    rssBaselineMiB: baseline?.rssMiB ?? null,
    rssBaselineAt: baseline ? { t: baseline.t, roomsDone: baseline.roomsDone, roomsLoaded: baseline.roomsLoaded } : null,
    rssIdleMiB: idle?.rssMiB ?? null,
    rssRatio,
    rssPeakMiB: peak.rssMiB,
    rssPeakAt: { t: peak.t, roomsDone: peak.roomsDone, roomsLoaded: peak.roomsLoaded },
    heapUsedBaselineMiB: baseline?.heapUsedMiB ?? null,
    heapUsedIdleMiB: idle?.heapUsedMiB ?? null,
    heapAfterGcStartMiB: heapStartMiB,
    heapAfterGcEndMiB: heapEndMiB,
    loopDelaySource: sampler.loopSource ?? 'none',
    machineLoad: {
      load1Mean: round(series.reduce((sum, x) => sum + x.load1, 0) / series.length, 1),
      load1Max: Math.max(...series.map((x) => x.load1)),
      cpus: cpus().length,
      churnCpuPercentMean: round(churnSamples.reduce((sum, x) => sum + x.machineCpuPercent, 0) / Math.max(1, churnSamples.length), 0),
    },
    loopP99MaxMs: loopMax,
    loopP99MedianMs: distribution(churnSamples.map((x) => x.loopP99Ms).filter((v): v is number => v !== null)).p50,
    loopP99MaxAt: loopMaxAt ? { t: loopMaxAt.t, phase: loopMaxAt.phase, roomsLoaded: loopMaxAt.roomsLoaded } : null,
    ack: acks,
    ackP99WorstWindowMs: ackWindows.length ? Math.max(...ackWindows) : null,
    legitResent: resent,
    hostileSenders,
    hostileByCode,
    hostileByKind,
    log,
    profile: profiled ? { fromT: profiled.fromT, toT: profiled.toT, top: topSelfTime(profiled.profile) } : null,
    targets: {
      rssRatio: { target: `<= ${TARGET_RSS_RATIO}`, met: rssRatio <= TARGET_RSS_RATIO },
      loopP99MaxMs: { target: `< ${TARGET_LOOP_P99_MS}`, met: loopMax < TARGET_LOOP_P99_MS },
    },
  };
  return { figures: soakFigures(summary), series, summary, problems, ...(profiled ? { profile: profiled.profile } : {}) };
}

/** The table's rows: the acceptance figures first. */
function soakFigures(s: SoakSummary): Figure[] {
  const f = (name: string, value: number | null, unit: string, note?: string, details: Record<string, unknown> = {}): Figure => ({
    scenario: 'soak',
    name,
    value: value ?? NaN,
    unit,
    ...(note ? { note } : {}),
    details,
  });
  const met = (ok: boolean) => (ok ? 'target met' : 'TARGET MISSED');
  return [
    f('rooms churned through 1 gateway', s.roomsChurned, 'rooms', `${s.roomsFailed} failed, ${s.churnSeconds} s, ${s.roomsPerSecond} rooms/s`),
    f(`RSS after the first ${s.rssBaselineAt?.roomsDone ?? '?'} rooms`, s.rssBaselineMiB, 'MiB', `${s.rssBaselineAt?.roomsLoaded ?? '?'} rooms loaded then`),
    f('RSS once idle after the churn', s.rssIdleMiB, 'MiB', `0 rooms loaded ${s.unloadedSecondsAfterChurn ?? '?'} s after the churn; peak ${s.rssPeakMiB} MiB`),
    f('RSS idle / after first rooms', s.rssRatio, 'x', `${s.rssRatio} (${s.targets.rssRatio.target}): ${met(s.targets.rssRatio.met)}`),
    f(
      'event-loop delay p99, max of windows',
      s.loopP99MaxMs,
      'ms',
      `${s.targets.loopP99MaxMs.target}: ${met(s.targets.loopP99MaxMs.met)}; median window ${s.loopP99MedianMs} ms (source ${s.loopDelaySource}; machine ${s.machineLoad.churnCpuPercentMean}% busy during the churn, load avg ${s.machineLoad.load1Mean} on ${s.machineLoad.cpus} cores)`,
      { at: s.loopP99MaxAt, machineLoad: s.machineLoad },
    ),
    f('ack p99 (legit sends, whole run)', s.ack.p99, 'ms', `p50 ${s.ack.p50} ms, n=${s.ack.n}, worst window p99 ${s.ackP99WorstWindowMs ?? '-'} ms`, { ...s.ack }),
    f('heap after full GC: start -> end', s.heapAfterGcEndMiB, 'MiB', s.heapAfterGcStartMiB === null ? 'no inspector' : `start ${s.heapAfterGcStartMiB} MiB`),
    f('rooms loaded, peak', s.roomsLoadedPeak, 'rooms', `GET /admin/gateways once idle: ${s.adminRoomsLoadedOnceIdle}`),
    f('hostile sends', Object.values(s.hostileByCode).reduce((a, b) => a + b, 0), 'sends', `${s.hostileSenders} senders; by code ${JSON.stringify(s.hostileByCode)}`, { byKind: s.hostileByKind }),
    f('acked messages lost', s.log.lost, 'msgs', `${s.log.acked} acked, ${s.log.inLog} in log, ${s.legitResent} resent after unavailable/timeout, ${s.log.hostileMessagesInLog} hostile in log`),
  ];
}
