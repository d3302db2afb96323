/**
 * The four benchmark scenarios. Each is bounded (a fixed window plus bounded set-up), uses the
 * running stack only through what users and operators have (HTTP API, Socket.IO, /metrics) plus
 * SQL to pre-fill a big room, and returns its figures.
 */
import { performance } from 'node:perf_hooks';
import type { Pool } from 'pg';
import type { ApiClient, TestUser } from '../test/support/client';
import { fillRoomLog } from '../test/support/bulk-log';
import { waitFor } from '../test/support/processes';
import type { TestStack } from '../test/support/stack';
import {
  closeAll,
  distribution,
  enterRoom,
  type Figure,
  type GatewaySample,
  mapLimit,
  type Member,
  metricsDelta,
  round,
  rssSampler,
  runLoad,
  sampleGateways,
  sleep,
} from './lib';

export interface BenchContext {
  stack: TestStack;
  api: ApiClient;
  pool: Pool;
  /** Registered users (distinct users per room). */
  users: TestUser[];
  admin: TestUser;
  runId: string;
  /** Sockets still open, closed on abort. */
  open: Set<Member>;
}

export interface Scenario {
  id: string;
  title: string;
  params: Record<string, unknown>;
  run(ctx: BenchContext): Promise<Figure[]>;
}

const liveGateways = (ctx: BenchContext) => ctx.stack.gateways.filter((g) => g.proc.running).map((g) => ({ id: g.id, url: g.url }));

async function enterMany(ctx: BenchContext, plan: Array<{ user: TestUser; roomId: string }>): Promise<Member[]> {
  const entered = await mapLimit(plan, 16, async (p, i) => (await enterRoom(ctx.api, p.user, p.roomId, i)).member);
  for (const m of entered) ctx.open.add(m);
  return entered;
}

function release(ctx: BenchContext, members: Member[]): void {
  closeAll(members);
  for (const m of members) ctx.open.delete(m);
}

const errorNote = (errors: Record<string, number>) => (Object.keys(errors).length ? ` errors=${JSON.stringify(errors)}` : '');

// ---- 1. ack latency under light load -------------------------------------------------------------

const LIGHT = { clients: 1, inFlight: 1, warmupMs: 500, durationMs: 5_000 };

export const lightLoad: Scenario = {
  id: 'light',
  title: 'ack latency, light load',
  params: { ...LIGHT, rooms: 1, sends: 'sequential (next send after the previous ack)' },
  async run(ctx) {
    const room = await ctx.api.createRoom(ctx.users[0]!.token, 'bench light load');
    const members = await enterMany(ctx, [{ user: ctx.users[0]!, roomId: room.id }]);
    const gateways = liveGateways(ctx);
    let before: GatewaySample[] = [];
    let after: GatewaySample[] = [];
    const result = await runLoad({
      members,
      inFlight: LIGHT.inFlight,
      warmupMs: LIGHT.warmupMs,
      durationMs: LIGHT.durationMs,
      prefix: `${ctx.runId}-l`,
      onWindowStart: async () => void (before = await sampleGateways(gateways)),
      onWindowEnd: async () => void (after = await sampleGateways(gateways)),
    });
    release(ctx, members);
    const d = distribution(result.latencies);
    const delta = metricsDelta(before, after);
    const rate = result.acksInWindow / (result.windowMs / 1000);
    const common = { samples: d.n, mean: d.mean, gateway: members[0]!.gatewayId, errors: result.errors };
    const s = 'light';
    return [
      { scenario: s, name: 'ack latency p50', value: d.p50, unit: 'ms', note: `n=${d.n}, mean ${d.mean} ms`, details: common },
      { scenario: s, name: 'ack latency p95', value: d.p95, unit: 'ms', details: common },
      { scenario: s, name: 'ack latency p99', value: d.p99, unit: 'ms', details: common },
      { scenario: s, name: 'ack latency max', value: d.max, unit: 'ms', details: common },
      {
        scenario: s,
        name: 'acks/s (1 in flight)',
        value: round(rate, 0),
        unit: 'acks/s',
        note: `commit avg ${delta.commitAvgMs} ms, ${delta.eventsPerBatch} ev/batch${errorNote(result.errors)}`,
        details: { ...common, commitBatches: delta.batches, commitEvents: delta.events, eventsPerBatch: delta.eventsPerBatch, commitAvgMs: delta.commitAvgMs, clientCpuPercent: result.clientCpuPercent },
      },
    ];
  },
};

// ---- 2. throughput ---------------------------------------------------------------------------------

const THROUGHPUT = { rooms: 50, clientsPerRoom: 4, inFlight: 8, warmupMs: 1_000, durationMs: 10_000 };

export const throughput: Scenario = {
  id: 'throughput',
  title: 'throughput, 50 rooms x 4 clients',
  params: THROUGHPUT,
  async run(ctx) {
    const owner = ctx.users[0]!;
    const rooms = await mapLimit(Array.from({ length: THROUGHPUT.rooms }, (_, i) => i), 8, (i) => ctx.api.createRoom(owner.token, `bench throughput ${i}`));
    const plan = rooms.flatMap((room, r) =>
      Array.from({ length: THROUGHPUT.clientsPerRoom }, (_, k) => ({ user: ctx.users[(r * THROUGHPUT.clientsPerRoom + k) % ctx.users.length]!, roomId: room.id })),
    );
    const setupAt = performance.now();
    const members = await enterMany(ctx, plan);
    const setupMs = performance.now() - setupAt;
    const gateways = liveGateways(ctx);
    let before: GatewaySample[] = [];
    let after: GatewaySample[] = [];
    let stopRss: (() => Promise<Record<string, number>>) | undefined;
    const result = await runLoad({
      members,
      inFlight: THROUGHPUT.inFlight,
      warmupMs: THROUGHPUT.warmupMs,
      durationMs: THROUGHPUT.durationMs,
      prefix: `${ctx.runId}-t`,
      onWindowStart: async () => {
        before = await sampleGateways(gateways);
        stopRss = rssSampler(gateways);
      },
      onWindowEnd: async () => void (after = await sampleGateways(gateways)),
    });
    const rssMax = (await stopRss?.()) ?? {};
    for (const a of after) rssMax[a.id] = Math.max(rssMax[a.id] ?? 0, round(a.rssBytes / 2 ** 20, 1));
    release(ctx, members);
    const d = distribution(result.latencies);
    const delta = metricsDelta(before, after);
    const rate = result.acksInWindow / (result.windowMs / 1000);
    const roomsPerGateway: Record<string, number> = {};
    for (const m of members.filter((_, i) => i % THROUGHPUT.clientsPerRoom === 0)) roomsPerGateway[m.gatewayId] = (roomsPerGateway[m.gatewayId] ?? 0) + 1;
    const rssEnd = Object.fromEntries(delta.perGateway.map((g) => [g.id, g.rssMiB]));
    const rssTotal = round(delta.perGateway.reduce((sum, g) => sum + g.rssMiB, 0), 1);
    const common = { clients: members.length, inFlightTotal: members.length * THROUGHPUT.inFlight, roomsPerGateway, errors: result.errors };
    const s = 'throughput';
    return [
      {
        scenario: s,
        name: 'acks/s (200 clients x 8 in flight)',
        value: round(rate, 0),
        unit: 'acks/s',
        note: `${result.acksInWindow} acks in ${result.windowMs / 1000} s, bench cpu ${result.clientCpuPercent}%${errorNote(result.errors)}`,
        details: { ...common, acksInWindow: result.acksInWindow, sent: result.sent, acked: result.acked, setupMs: round(setupMs, 0), clientCpuPercent: result.clientCpuPercent },
      },
      { scenario: s, name: 'ack latency p50', value: d.p50, unit: 'ms', note: `n=${d.n}`, details: { ...common, ...d } },
      { scenario: s, name: 'ack latency p99', value: d.p99, unit: 'ms', note: `max ${d.max} ms`, details: { ...common, ...d } },
      {
        scenario: s,
        name: 'group commit: events/batch',
        value: delta.eventsPerBatch,
        unit: 'ev/batch',
        note: `${delta.events} ev in ${delta.batches} batches, commit avg ${delta.commitAvgMs} ms`,
        details: { batches: delta.batches, events: delta.events, commitAvgMs: delta.commitAvgMs, perGateway: delta.perGateway },
      },
      {
        scenario: s,
        name: 'gateway RSS (sum of 2, end)',
        value: rssTotal,
        unit: 'MiB',
        note: Object.entries(rssEnd)
          .map(([id, mib]) => `${id.replace(/^bench-/, '')} ${mib} (max ${rssMax[id] ?? '?'})`)
          .join(', '),
        details: { endMiB: rssEnd, maxDuringWindowMiB: rssMax, cpuPercent: Object.fromEntries(delta.perGateway.map((g) => [g.id, g.cpuPercent])) },
      },
    ];
  },
};

// ---- 3. one hot room ---------------------------------------------------------------------------------

const HOT = { clients: 20, inFlight: 8, warmupMs: 1_000, durationMs: 10_000 };

export const hotRoom: Scenario = {
  id: 'hot-room',
  title: 'one hot room, 20 clients',
  params: HOT,
  async run(ctx) {
    const room = await ctx.api.createRoom(ctx.users[0]!.token, 'bench hot room');
    const members = await enterMany(
      ctx,
      Array.from({ length: HOT.clients }, (_, i) => ({ user: ctx.users[i % ctx.users.length]!, roomId: room.id })),
    );
    // Arrival time of every room:event at every member other than its author.
    const arrivals = new Map<number, number[]>();
    for (const m of members) {
      m.socket.on('room:event', (event) => {
        if (event.actor?.id === m.user.user.id) return;
        const at = performance.now();
        const list = arrivals.get(event.seq);
        if (list) list.push(at);
        else arrivals.set(event.seq, [at]);
      });
    }
    const measured = new Map<number, { sentAt: number; ackAt: number }>();
    const gateways = liveGateways(ctx);
    let before: GatewaySample[] = [];
    let after: GatewaySample[] = [];
    const result = await runLoad({
      members,
      inFlight: HOT.inFlight,
      warmupMs: HOT.warmupMs,
      durationMs: HOT.durationMs,
      prefix: `${ctx.runId}-h`,
      onWindowStart: async () => void (before = await sampleGateways(gateways)),
      onWindowEnd: async () => void (after = await sampleGateways(gateways)),
      onAck: (_m, seq, sentAt, ackAt, inWindow) => {
        if (inWindow) measured.set(seq, { sentAt, ackAt });
      },
    });
    // Let the last broadcasts arrive (bounded), then stop listening.
    const others = new Set(members.map((m) => m.user.user.id)).size - 1;
    const lastSeq = Math.max(0, ...measured.keys());
    const complete = await waitFor('the last broadcasts', async () => (arrivals.get(lastSeq)?.length ?? 0) >= others, 5_000, 50).catch(() => false);
    release(ctx, members);

    const fanout: number[] = [];
    const sendToDelivery: number[] = [];
    let missing = 0;
    let beforeAck = 0;
    for (const [seq, { sentAt, ackAt }] of measured) {
      const list = arrivals.get(seq) ?? [];
      missing += Math.max(0, others - list.length);
      for (const at of list) {
        fanout.push(at - ackAt);
        sendToDelivery.push(at - sentAt);
        if (at < ackAt) beforeAck++;
      }
    }
    const d = distribution(result.latencies);
    const f = distribution(fanout);
    const e2e = distribution(sendToDelivery);
    const delta = metricsDelta(before, after);
    const rate = result.acksInWindow / (result.windowMs / 1000);
    const s = 'hot-room';
    const fanoutDetails = {
      deliveries: f.n,
      recipientsPerEvent: others,
      missingDeliveries: missing,
      lastBroadcastsComplete: complete !== false,
      deliveredBeforeSendersAck: beforeAck,
      fanout: f,
      sendToDelivery: e2e,
      note: 'negative values: the event reached a member before the sender had its ack (same process, one clock)',
    };
    return [
      {
        scenario: s,
        name: 'acks/s (20 clients x 8 in flight)',
        value: round(rate, 0),
        unit: 'acks/s',
        note: `${delta.eventsPerBatch} ev/batch, bench cpu ${result.clientCpuPercent}%${errorNote(result.errors)}`,
        details: { acksInWindow: result.acksInWindow, gateway: members[0]!.gatewayId, eventsPerBatch: delta.eventsPerBatch, commitAvgMs: delta.commitAvgMs, clientCpuPercent: result.clientCpuPercent, errors: result.errors },
      },
      { scenario: s, name: 'ack latency p99', value: d.p99, unit: 'ms', note: `p50 ${d.p50} ms, n=${d.n}`, details: { ...d } },
      { scenario: s, name: 'fan-out (ack -> others) p50', value: f.p50, unit: 'ms', note: `${f.n} deliveries, ${missing} missing, ${round((beforeAck / Math.max(1, f.n)) * 100, 0)}% before the ack`, details: fanoutDetails },
      { scenario: s, name: 'fan-out (ack -> others) p99', value: f.p99, unit: 'ms', note: `send->delivery p50 ${e2e.p50} / p99 ${e2e.p99} ms`, details: fanoutDetails },
    ];
  },
};

// ---- 4. resume: full replay vs snapshot --------------------------------------------------------------

const RESUME = { events: 20_000, snapshotEveryEvents: 1_000 };


async function gatewayStatus(ctx: BenchContext, id: string): Promise<string | undefined> {
  const res = await ctx.api.request<{ gateways: Array<{ id: string; status: string }> }>('GET', '/admin/gateways', { token: ctx.admin.token });
  if (res.status !== 200) throw new Error(`GET /admin/gateways: ${res.status}`);
  return res.body.gateways.find((g) => g.id === id)?.status;
}

export const resume: Scenario = {
  id: 'resume',
  title: 'resume a 20k-event room',
  params: { ...RESUME, measured: 'POST /rooms/:id/connection -> handshake -> room:join {} ack', kill: 'SIGKILL of the owner, then wait until the registry says gone' },
  async run(ctx) {
    const user = ctx.users[0]!;
    const room = await ctx.api.createRoom(user.token, 'bench resume');
    const fillAt = performance.now();
    await fillRoomLog(ctx.pool, room.id, user, RESUME.events);
    const fillMs = performance.now() - fillAt;

    // First load: nothing to start from but the log (full replay).
    const first = await enterRoom(ctx.api, user, room.id, 0, { timeoutMs: 30_000, deadlineMs: 30_000 });
    ctx.open.add(first.member);
    if (first.ack.room.headSeq !== RESUME.events) throw new Error(`join after the fill: headSeq ${first.ack.room.headSeq}, expected ${RESUME.events}`);
    const owner = first.member.gatewayId;

    // The owner snapshots the room in the background (its tail is over SNAPSHOT_EVERY_EVENTS).
    const snapAt = performance.now();
    const snapshot = await waitFor(
      'a snapshot of the resume room at its head',
      async () => {
        const { rows } = await ctx.pool.query<{ seq: number; bytes: number }>('SELECT seq, bytes FROM room_snapshots WHERE room_id = $1 ORDER BY seq DESC LIMIT 1', [room.id]);
        return rows[0]?.seq === RESUME.events ? rows[0] : undefined;
      },
      30_000,
      100,
    );
    const snapshotWaitMs = performance.now() - snapAt;
    release(ctx, [first.member]);

    // SIGKILL the owner; wait for the registry to call it gone (GATEWAY_TTL_SECONDS).
    const survivor = ctx.stack.gateways.find((g) => g.id !== owner && g.proc.running);
    if (!survivor) throw new Error('no second gateway to resume on');
    const killAt = performance.now();
    await ctx.stack.killGateway(owner);
    await waitFor(`gateway ${owner} to be gone`, async () => (await gatewayStatus(ctx, owner)) === 'gone', 20_000, 100);
    const ttlWaitMs = performance.now() - killAt;

    // Resume on the other gateway: newest snapshot + (empty) tail.
    const second = await enterRoom(ctx.api, user, room.id, 1, { timeoutMs: 30_000, deadlineMs: 30_000 });
    ctx.open.add(second.member);
    if (second.member.gatewayId !== survivor.id) throw new Error(`resumed on ${second.member.gatewayId}, expected ${survivor.id}`);
    if (second.ack.room.headSeq !== RESUME.events) throw new Error(`join after the resume: headSeq ${second.ack.room.headSeq}, expected ${RESUME.events}`);
    // The resumed room goes on at the next seq.
    const next = await second.member.socket.timeout(10_000).emitWithAck('message:send', { clientMsgId: `${ctx.runId}-after-resume`, text: 'after the resume' });
    if (!next.ok || next.seq !== RESUME.events + 1) throw new Error(`send after the resume: ${JSON.stringify(next)}`);
    release(ctx, [second.member]);

    const s = 'resume';
    const common = { events: RESUME.events, fillMs: round(fillMs, 0), snapshotBytes: snapshot.bytes, snapshotSeq: snapshot.seq };
    return [
      {
        scenario: s,
        name: 'first join, full replay (20k ev)',
        value: round(first.ms, 1),
        unit: 'ms',
        note: `on ${owner.replace(/^bench-/, '')}, attempts ${first.attempts}`,
        details: { ...common, gateway: owner, attempts: first.attempts, totalMs: round(first.totalMs, 1) },
      },
      {
        scenario: s,
        name: 'first join, from snapshot (20k ev)',
        value: round(second.ms, 1),
        unit: 'ms',
        note: `on ${survivor.id.replace(/^bench-/, '')} after kill -9 + ${round(ttlWaitMs / 1000, 1)} s TTL, snapshot ${round(snapshot.bytes / 1024, 0)} KiB`,
        details: { ...common, gateway: survivor.id, killed: owner, attempts: second.attempts, totalMs: round(second.totalMs, 1), ttlWaitMs: round(ttlWaitMs, 0), snapshotWaitMs: round(snapshotWaitMs, 0) },
      },
    ];
  },
};

export const SCENARIOS: Scenario[] = [lightLoad, throughput, hotRoom, resume];

export { sleep };
