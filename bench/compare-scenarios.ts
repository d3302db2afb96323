/**
 * The scenarios of the comparison bench (issue 9), numbered as in the issue. 1-3 run on both
 * sides, A B A B, with the load in forked processes; the others measure the product alone.
 */
import type { Pool } from 'pg';
import type { ApiClient, ConnectionInfo, TestUser } from '../test/support/client';
import type { TestStack } from '../test/support/stack';
import { alternation, compare, type Compared, describeTarget, type Sample, type Side, type Target, verdict } from './compare';
import { bucketQuantile, distribution, type Figure, histogramFrom, loopDelayFrom, mapLimit, metricsDelta, round, sampleGateways, scrapeMetricsText, sleep } from './lib';
import { LoadProcs, mergeLoad } from './load-procs';
import { postgresCpuMeter, processCpuMeter } from './process-cpu';
import type { FanoutResult, LoadTarget } from './load-worker';

export interface CompareContext {
  stack: TestStack;
  api: ApiClient;
  pool: Pool;
  users: TestUser[];
  admin: TestUser;
  runId: string;
  peerUrl: string;
  /** The peer's process id, to read its CPU beside our gateway's. */
  peerPid: number;
  options: { reps: number; seconds: number; loadProcs: number; profile: boolean };
  /** The environment the stack starts its gateway with (scenarios that restart it may change it). */
  stackEnv: Record<string, string>;
  /** Samples the gateway's CPU for `ms` over its inspector and writes the profile (--profile). */
  profileGateway(ms: number, label: string): Promise<void>;
  /** The peer's saturated rate per scenario (acks/s), for the half-saturation run. */
  peerRate: Record<string, number>;
}

export interface CompareScenario {
  id: string;
  title: string;
  run(ctx: CompareContext): Promise<{ figures: Figure[]; raw: unknown }>;
}

/** A socket to open in a scenario: one user in one room (its id on each side). */
interface Seat {
  user: TestUser;
  roomId: string;
  peerRoomId: string;
}

async function targetsFor(ctx: CompareContext, side: Side, seats: readonly Seat[]): Promise<LoadTarget[]> {
  if (side === 'peer') {
    return seats.map((s) => ({ url: ctx.peerUrl, auth: { roomId: s.peerRoomId, userId: s.user.user.id, username: s.user.user.username }, roomId: s.peerRoomId, userId: s.user.user.id, username: s.user.user.username }));
  }
  return mapLimit(seats, 16, async (s) => {
    const res = await ctx.api.request<ConnectionInfo>('POST', `/rooms/${s.roomId}/connection`, { token: s.user.token });
    if (res.status !== 200) throw new Error(`POST /rooms/${s.roomId}/connection: ${res.status} ${JSON.stringify(res.body)}`);
    return { url: res.body.url, auth: { ticket: res.body.ticket }, roomId: s.roomId, userId: s.user.user.id, username: s.user.user.username };
  });
}

/** Creates `n` rooms on our side; the peer's rooms are named after them (created on first join). */
async function makeRooms(ctx: CompareContext, n: number, label: string): Promise<Array<{ ours: string; peer: string }>> {
  const owner = ctx.users[0]!;
  const rooms = await mapLimit(Array.from({ length: n }, (_, i) => i), 8, (i) => ctx.api.createRoom(owner.token, `${label} ${i}`));
  return rooms.map((r, i) => ({ ours: r.id, peer: `${ctx.runId}-${label}-${i}` }));
}

function seatsFor(ctx: CompareContext, rooms: Array<{ ours: string; peer: string }>, membersPerRoom: number): Seat[] {
  return rooms.flatMap((room, r) =>
    Array.from({ length: membersPerRoom }, (_, k) => ({ user: ctx.users[(r * membersPerRoom + k) % ctx.users.length]!, roomId: room.ours, peerRoomId: room.peer })),
  );
}

/** Runs `once` for each side in A B A B order; each run opens its sockets in fresh load processes. */
async function alternate(ctx: CompareContext, label: string, once: (side: Side, rep: number) => Promise<Record<string, number>>): Promise<Sample[]> {
  const samples: Sample[] = [];
  const done: Record<Side, number> = { ours: 0, peer: 0 };
  for (const side of alternation(ctx.options.reps)) {
    const rep = ++done[side];
    const metrics = await once(side, rep);
    samples.push({ side, rep, metrics });
    console.log(`compare: ${label} ${side} #${rep}: ${Object.entries(metrics).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }
  return samples;
}

interface MetricSpec {
  label: string;
  unit: string;
  /** Target on ours ÷ peer. */
  ratioTarget?: Target;
  /** Target on our figure itself. */
  oursTarget?: Target;
}

/** Three rows per metric: ours, the peer, ours ÷ peer (medians over the repetitions). */
function comparedFigures(scenario: string, compared: Compared[], specs: Record<string, MetricSpec>): Figure[] {
  return compared.flatMap((c) => {
    const spec = specs[c.metric]!;
    const oursVerdict = spec.oursTarget ? `; target ${describeTarget(spec.oursTarget)} ${spec.unit}: ${verdict(c.ours, spec.oursTarget)}` : '';
    const ratioVerdict = spec.ratioTarget ? `target ${describeTarget(spec.ratioTarget)}: ${verdict(c.ratio, spec.ratioTarget)}` : 'no target';
    const details = { oursRuns: c.oursRuns, peerRuns: c.peerRuns, ours: c.ours, peer: c.peer, ratio: c.ratio };
    return [
      { scenario, name: `${spec.label}: ours`, value: round(c.ours, 2), unit: spec.unit, note: `median of [${c.oursRuns.join(', ')}]${oursVerdict}`, details },
      { scenario, name: `${spec.label}: peer`, value: round(c.peer, 2), unit: spec.unit, note: `median of [${c.peerRuns.join(', ')}]`, details },
      { scenario, name: `${spec.label}: ours / peer`, value: round(c.ratio, 2), unit: 'x', note: ratioVerdict, details },
    ];
  });
}

/** Where the 2 cores go, per acknowledged message, in a saturated closed-loop window. */
const CPU_PER_ACK_METRICS: Record<string, MetricSpec> = {
  serverCpuPerAckUs: { label: 'CPU per acked msg: server process (our gateway / the peer)', unit: 'µs' },
  postgresCpuPerAckUs: { label: 'CPU per acked msg: Postgres (all its processes)', unit: 'µs' },
  loadCpuPerAckUs: { label: 'CPU per acked msg: load processes', unit: 'µs' },
};

const LOAD_METRICS: Record<string, MetricSpec> = {
  acksPerSec: { label: 'acked msgs/s', unit: 'msg/s', ratioTarget: { kind: 'min', bound: 0.8 } },
  p50: { label: 'ack p50', unit: 'ms' },
  p99: { label: 'ack p99', unit: 'ms', ratioTarget: { kind: 'max', bound: 1.5 } },
  failed: { label: 'failed sends', unit: 'sends', oursTarget: { kind: 'max', bound: 0 } },
};

/** A closed-loop run (`inFlight` sends outstanding per member) over `seats` on one side. */
async function closedRun(ctx: CompareContext, side: Side, seats: Seat[], prefix: string, inFlight: number, textLength: number, profile?: string) {
  const procs = await LoadProcs.start(await targetsFor(ctx, side, seats), ctx.options.loadProcs);
  try {
    const durationMs = ctx.options.seconds * 1000;
    const profiled = profile ? sleep(1_000).then(() => ctx.profileGateway(durationMs, profile)) : Promise.resolve();
    // Our gateway's own view of the window (group commits, commit time, its CPU), from /metrics.
    const gateways = side === 'ours' ? ctx.stack.gateways.filter((g) => g.proc.running).map((g) => ({ id: g.id, url: g.url })) : [];
    const before = gateways.length ? sleep(1_000).then(() => sampleGateways(gateways)) : undefined;
    // Postgres' and the server process's CPU over the same window as the load's (after its 1 s
    // warm-up). On the peer's side Postgres is the control: near 0.
    const serverPid = side === 'ours' ? ctx.stack.gateways[0]!.proc.pid : ctx.peerPid;
    const meters = sleep(1_000).then(() => ({ postgres: postgresCpuMeter(), server: processCpuMeter(serverPid) }));
    const [results] = await Promise.all([procs.run({ kind: 'closed', inFlight, warmupMs: 1_000, durationMs, prefix, textLength }), profiled, before]);
    const { postgres, server } = await meters;
    const [postgresCpu, serverCpu] = [postgres(), server()];
    const merged = mergeLoad(results);
    const loadCpu = merged.clientCpuPercent.reduce((a, b) => a + b, 0);
    const metrics: Record<string, number> = { acksPerSec: merged.acksPerSec, p50: merged.latency.p50, p99: merged.latency.p99, failed: merged.failed, clientCpu: Math.max(...merged.clientCpuPercent), clientLoopDelayP99: round(Math.max(...merged.clientLoopDelayP99Ms), 1), clientLoopDelayMax: round(Math.max(...merged.clientLoopDelayMaxMs), 1) };
    // CPU spent per acknowledged message (µs) by process: what a saturated 2-core machine divides.
    const perAck = (percent: number) => (merged.acksPerSec > 0 ? round((percent / 100 / merged.acksPerSec) * 1e6, 1) : NaN);
    metrics.serverCpuPerAckUs = perAck(serverCpu);
    metrics.postgresCpuPerAckUs = perAck(postgresCpu);
    metrics.loadCpuPerAckUs = perAck(loadCpu);
    if (before) {
      const delta = metricsDelta(await before, await sampleGateways(gateways));
      metrics.eventsPerBatch = delta.eventsPerBatch;
      metrics.commitAvgMs = delta.commitAvgMs;
      metrics.gatewayCpu = delta.perGateway[0]?.cpuPercent ?? NaN;
    }
    return metrics;
  } finally {
    await procs.close();
  }
}

/** Our gateway's side of the windows (medians): where the time goes when the ratio is low. */
function ourGatewayFigures(scenario: string, c: Compared[]): Figure[] {
  const [batch, commit, cpu] = c;
  return [
    { scenario, name: 'ours: events per group commit', value: round(batch!.ours, 1), unit: 'ev', note: `runs [${batch!.oursRuns.join(', ')}]`, details: { ...batch } },
    { scenario, name: 'ours: commit round trip avg', value: round(commit!.ours, 2), unit: 'ms', note: `runs [${commit!.oursRuns.join(', ')}] (gateway_commit_duration_seconds)`, details: { ...commit } },
    { scenario, name: 'ours: gateway process CPU', value: round(cpu!.ours, 0), unit: '%', note: `of one core; runs [${cpu!.oursRuns.join(', ')}]; the rest of the 2 cores: Postgres, the load process, the API`, details: { ...cpu } },
  ];
}

// ---- 1. throughput and latency, 20 rooms x 5 members, and at half the peer's saturation -----------

const S1 = { rooms: 20, membersPerRoom: 5, inFlight: 4, textLength: 120 };

export const throughput: CompareScenario = {
  id: 'throughput',
  title: `1. throughput and ack latency, ${S1.rooms} rooms x ${S1.membersPerRoom} members, ${S1.inFlight} in flight each, ${S1.textLength}-char messages; then open loop at half the peer's rate`,
  async run(ctx) {
    const seats = seatsFor(ctx, await makeRooms(ctx, S1.rooms, 'cmp-s1'), S1.membersPerRoom);
    // With --profile, the gateway's CPU is sampled during our first window (the others stay unprofiled).
    const profile = (side: Side, rep: number) => (ctx.options.profile && side === 'ours' && rep === 1 ? 'throughput' : undefined);
    const saturated = await alternate(ctx, 'throughput', (side, rep) => closedRun(ctx, side, seats, `${ctx.runId}-s1-${side}-${rep}`, S1.inFlight, S1.textLength, profile(side, rep)));
    const sat = compare(saturated, ['acksPerSec', 'p50', 'p99', 'failed']);
    const peerRate = sat[0]!.peer;
    ctx.peerRate.throughput = peerRate;
    const half = Math.max(1, Math.round(peerRate / 2));
    const halfRuns = await alternate(ctx, `half-load ${half}/s`, async (side, rep) => {
      const procs = await LoadProcs.start(await targetsFor(ctx, side, seats), ctx.options.loadProcs);
      try {
        const ratePerSec = half / procs.count;
        const gatewayView = side === 'ours' ? serverTail(ctx.stack.gateways[0]!.url) : undefined;
        // With --profile, our first half-load window is sampled too: what the loop does in the tail.
        const durationMs = ctx.options.seconds * 1000;
        const profiled = profile(side, rep) ? sleep(1_000).then(() => ctx.profileGateway(durationMs, 'half-load')) : Promise.resolve();
        const [results] = await Promise.all([procs.run({ kind: 'open', ratePerSec, warmupMs: 1_000, durationMs, prefix: `${ctx.runId}-s1h-${side}-${rep}`, textLength: S1.textLength }), profiled]);
        const merged = mergeLoad(results);
        const metrics: Record<string, number> = { acksPerSec: merged.acksPerSec, p50: merged.latency.p50, p99: merged.latency.p99, failed: merged.failed, clientCpu: Math.max(...merged.clientCpuPercent), clientLoopDelayP99: round(Math.max(...merged.clientLoopDelayP99Ms), 1), clientLoopDelayMax: round(Math.max(...merged.clientLoopDelayMaxMs), 1) };
        if (gatewayView) Object.assign(metrics, await gatewayView.end());
        return metrics;
      } finally {
        await procs.close();
      }
    });
    const halfCompared = compare(halfRuns, ['acksPerSec', 'p50', 'p99', 'failed', 'clientLoopDelayP99', 'clientLoopDelayMax']);
    const halfSpecs: Record<string, MetricSpec> = {
      acksPerSec: { label: `half load (${half}/s offered): acked msgs/s`, unit: 'msg/s' },
      p50: { label: 'half load: ack p50', unit: 'ms' },
      p99: { label: 'half load: ack p99', unit: 'ms', oursTarget: { kind: 'max', bound: 20 } },
      failed: { label: 'half load: failed sends', unit: 'sends', oursTarget: { kind: 'max', bound: 0 } },
      // Acks are timed from when each send was due: a stall of the load process's own loop lands
      // in both sides' tails, whatever the servers do (load-worker.ts, loopDelayOver).
      clientLoopDelayP99: { label: 'half load: load process event-loop delay p99 (max of procs)', unit: 'ms' },
      clientLoopDelayMax: { label: 'half load: load process event-loop delay, longest (max of procs)', unit: 'ms' },
    };
    const clientCpu = compare(saturated, ['clientCpu'])[0]!;
    const gw = compare(saturated, ['eventsPerBatch', 'commitAvgMs', 'gatewayCpu']);
    return {
      figures: [
        ...comparedFigures('1 throughput', sat, LOAD_METRICS),
        { scenario: '1 throughput', name: 'load process CPU (max of procs)', value: round(clientCpu.ours, 0), unit: '%', note: `peer runs ${round(clientCpu.peer, 0)}% (near 100%: the client, not the peer, is the limit)`, details: { ...clientCpu } },
        ...ourGatewayFigures('1 throughput', gw),
        ...comparedFigures('1 throughput', compare(saturated, Object.keys(CPU_PER_ACK_METRICS)), CPU_PER_ACK_METRICS),
        ...comparedFigures('1 half load', halfCompared, halfSpecs),
        ...serverTailFigures('1 half load', halfRuns),
      ],
      raw: { params: S1, saturated, half: { offeredPerSec: half, runs: halfRuns } },
    };
  },
};

/**
 * Where a half-load ack's tail lives, from our gateway's own histograms over the measured window
 * (from the end of the 1 s warm-up): the p99 of its send acks (command reached the gateway →
 * ack written) and of its commit statements, each as the bucket bound that holds it. When the
 * gateway's p99 is low and the client's is high, the time is spent between the two processes
 * (the socket, the load process waiting for a core), not in the product.
 */
function serverTail(url: string): { end(): Promise<Record<string, number>> } {
  // One scrape per end of the window: a scrape also starts a new loop-delay window.
  const histograms = async () => {
    const text = await scrapeMetricsText(url);
    return { acks: histogramFrom(text, 'gateway_ack_duration_seconds', ['command="send"']), commits: histogramFrom(text, 'gateway_commit_duration_seconds'), loop: loopDelayFrom(text) };
  };
  const from = sleep(1_000).then(histograms);
  return {
    async end() {
      const [a, b] = [await from, await histograms()];
      return {
        gatewayAckP99AtMost: bucketQuantile(a.acks, b.acks, 0.99).atMostMs,
        commitP99AtMost: bucketQuantile(a.commits, b.commits, 0.99).atMostMs,
        loopDelayP99: round(b.loop.p99, 1),
      };
    },
  };
}

function serverTailFigures(scenario: string, runs: readonly Sample[]): Figure[] {
  const ours = runs.filter((r) => r.side === 'ours');
  const figure = (key: string, name: string, how: string): Figure => {
    const values = ours.map((r) => r.metrics[key]!);
    const sorted = [...values].sort((a, b) => a - b);
    return { scenario, name, value: sorted[Math.floor(sorted.length / 2)]!, unit: 'ms', note: `${how}; runs [${values.join(', ')}]`, details: { runs: values } };
  };
  const bucket = 'at most (histogram bucket bound)';
  return [
    figure('gatewayAckP99AtMost', 'ours: send ack p99 inside the gateway', bucket),
    figure('commitP99AtMost', 'ours: commit statement p99', bucket),
    figure('loopDelayP99', 'ours: event-loop delay p99', 'gateway_event_loop_delay_seconds over the window'),
  ];
}

// ---- 2. one hot room x 50 members ----------------------------------------------------------------

const S2 = { members: 50, inFlight: 4, textLength: 120 };

export const hotRoom: CompareScenario = {
  id: 'hot-room',
  title: `2. one hot room x ${S2.members} members, ${S2.inFlight} in flight each`,
  async run(ctx) {
    const seats = seatsFor(ctx, await makeRooms(ctx, 1, 'cmp-s2'), S2.members);
    const runs = await alternate(ctx, 'hot-room', (side, rep) => closedRun(ctx, side, seats, `${ctx.runId}-s2-${side}-${rep}`, S2.inFlight, S2.textLength));
    return {
      figures: [...comparedFigures('2 hot room', compare(runs, ['acksPerSec', 'p50', 'p99', 'failed']), LOAD_METRICS), ...ourGatewayFigures('2 hot room', compare(runs, ['eventsPerBatch', 'commitAvgMs', 'gatewayCpu'])), ...comparedFigures('2 hot room', compare(runs, Object.keys(CPU_PER_ACK_METRICS)), CPU_PER_ACK_METRICS)],
      raw: { params: S2, runs },
    };
  },
};

// ---- 3. fan-out: 1 room x 500 members, 1 sender ------------------------------------------------------

const S3 = { members: 500, messages: 30, textLength: 120 };

export const fanout: CompareScenario = {
  id: 'fanout',
  title: `3. fan-out, 1 room x ${S3.members} members, 1 sender, ${S3.messages} messages one after another: send -> last delivery`,
  async run(ctx) {
    const seats = seatsFor(ctx, await makeRooms(ctx, 1, 'cmp-s3'), S3.members);
    const runs = await alternate(ctx, 'fanout', async (side, rep) => {
      // All 500 sockets in one load process: one clock for the send and every delivery.
      const procs = await LoadProcs.start(await targetsFor(ctx, side, seats), 1);
      try {
        const [result] = (await procs.run({ kind: 'fanout', messages: S3.messages, prefix: `${ctx.runId}-s3-${side}-${rep}`, textLength: S3.textLength, timeoutMs: 10_000 })) as [FanoutResult & { kind: 'fanout' }];
        const last = distribution(result.lastDeliveryMs);
        const ack = distribution(result.ackMs);
        return { lastP50: last.p50, lastP99: last.p99, ackP50: ack.p50, incomplete: result.incomplete, connectMs: round(procs.connectMs, 0) };
      } finally {
        await procs.close();
      }
    });
    const specs: Record<string, MetricSpec> = {
      lastP50: { label: 'send -> last of 500 deliveries p50', unit: 'ms' },
      lastP99: { label: 'send -> last of 500 deliveries p99', unit: 'ms' },
      ackP50: { label: 'sender ack p50', unit: 'ms' },
      incomplete: { label: 'messages not delivered to all', unit: 'msgs', oursTarget: { kind: 'max', bound: 0 } },
    };
    return { figures: comparedFigures('3 fan-out', compare(runs, Object.keys(specs)), specs), raw: { params: S3, runs } };
  },
};



