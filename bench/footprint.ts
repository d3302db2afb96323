/**
 * What one gateway costs, measured on a real gateway process (issue 8, "Many gateways"): the
 * memory of N idle loaded rooms against none, of M connected sockets against none, and the
 * send throughput one gateway sustains. Each memory reading follows a full GC requested over the
 * gateway's inspector (so the heap figure is what the rooms and sockets retain, not garbage),
 * and is read from the gateway's own `/metrics`. The gateway runs with `ROOM_IDLE_MS=0`, so
 * rooms with no socket stay loaded. Run by bench/fleet-main.ts on a stack of its own.
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ApiClient, TestUser } from '../test/support/client';
import { type GatewayGauges, mib, readGatewayGauges } from '../test/support/gateway-gauges';
import type { InspectorClient } from '../test/support/inspector';
import { waitFor } from '../test/support/processes';
import { closeAll, distribution, enterRoom, type Figure, mapLimit, type Member, round, runLoad, sampleGateway, sleep } from './lib';

export interface FootprintParams {
  /** Idle rooms loaded for the per-room reading. */
  rooms: number;
  /** Messages sent into each of them before it is left (so a room holds some history). */
  historyMessages: number;
  /** Sockets connected (over those rooms) for the per-socket reading. */
  sockets: number;
  /** Sockets a room gets (so the throughput window's messages fan out to that many). */
  socketsPerRoom: number;
  /** Members of distinct rooms that send during the throughput window. */
  loadMembers: number;
  /** Sends each of them keeps in flight. */
  inFlight: number;
  loadSeconds: number;
  concurrency: number;
}

export interface FootprintContext {
  api: ApiClient;
  users: readonly TestUser[];
  gateway: { id: string; url: string };
  inspector: InspectorClient;
  runId: string;
  log: (line: string) => void;
}

export interface Reading {
  heapUsedBytes: number;
  rssBytes: number;
  roomsLoaded: number;
  sockets: number;
}

export interface FootprintSummary {
  params: FootprintParams;
  baseline: Reading;
  withRooms: Reading;
  withSockets: Reading;
  perIdleRoom: { heapBytes: number; rssBytes: number };
  perSocket: { heapBytes: number; rssBytes: number };
  throughput: {
    acksPerSecond: number;
    gatewayCpuPercent: number;
    /** acks/s divided by the gateway's share of a core: what one fully used core would carry. */
    acksPerGatewayCoreSecond: number;
    machineCpuPercent: number;
    eventsPerBatch: number;
    ack: ReturnType<typeof distribution>;
    errors: Record<string, number>;
  };
}

/** Two full collections (the second catches what the first's finalisers freed), then a scrape. */
export async function reading(ctx: Pick<FootprintContext, 'inspector' | 'gateway'>): Promise<Reading> {
  await sleep(1_000);
  await ctx.inspector.collectGarbage();
  await sleep(200);
  await ctx.inspector.collectGarbage();
  const g: GatewayGauges = await readGatewayGauges(ctx.gateway.url);
  return { heapUsedBytes: g.heapUsedBytes, rssBytes: g.rssBytes, roomsLoaded: g.roomsLoaded, sockets: g.sockets };
}

function describeReading(r: Reading): string {
  return `heap ${mib(r.heapUsedBytes)} MiB, RSS ${mib(r.rssBytes)} MiB, ${r.roomsLoaded} rooms loaded, ${r.sockets} sockets`;
}

function waitForGauges(ctx: FootprintContext, what: string, ok: (g: GatewayGauges) => boolean): Promise<GatewayGauges> {
  return waitFor(what, async () => {
    const g = await readGatewayGauges(ctx.gateway.url);
    return ok(g) ? g : undefined;
  }, 120_000, 500);
}

/** Busy share of the whole machine between two `os.cpus()` readings (%). */
function machineBusy(before: ReturnType<typeof cpus>, after: ReturnType<typeof cpus>): number {
  let busy = 0;
  let total = 0;
  after.forEach((cpu, i) => {
    const prev = before[i]!.times;
    const d = (k: keyof typeof prev) => cpu.times[k] - prev[k];
    const all = d('user') + d('nice') + d('sys') + d('idle') + d('irq');
    busy += all - d('idle');
    total += all;
  });
  return total > 0 ? round((busy / total) * 100, 0) : NaN;
}

export async function runFootprint(ctx: FootprintContext, p: FootprintParams): Promise<{ summary: FootprintSummary; figures: Figure[] }> {
  const baseline = await reading(ctx);
  ctx.log(`footprint: baseline: ${describeReading(baseline)}`);

  // N idle rooms: each created, entered, given some history and left; ROOM_IDLE_MS=0 keeps it loaded.
  const t0 = performance.now();
  const roomIds = await mapLimit(
    Array.from({ length: p.rooms }, (_, i) => i),
    p.concurrency,
    async (i) => {
      const user = ctx.users[i % ctx.users.length]!;
      const res = await ctx.api.request<{ room: { id: string } }>('POST', '/rooms', { token: user.token, body: { name: `footprint ${i}` } });
      if (res.status !== 201) throw new Error(`POST /rooms: ${res.status} ${JSON.stringify(res.body)}`);
      const { member } = await enterRoom(ctx.api, user, res.body.room.id, i);
      for (let n = 0; n < p.historyMessages; n++) {
        const ack = await member.socket.timeout(20_000).emitWithAck('message:send', { clientMsgId: `${ctx.runId}-fp-${i}-${n}`, text: `history message ${n} of an idle room, about as long as a chat line` });
        if (!ack.ok) throw new Error(`history send: ${ack.error.code}`);
      }
      closeAll([member]);
      return res.body.room.id;
    },
  );
  ctx.log(`footprint: ${p.rooms} rooms loaded with ${p.historyMessages} messages each in ${round((performance.now() - t0) / 1000, 1)} s`);
  await waitForGauges(ctx, `${p.rooms} rooms loaded and no socket`, (g) => g.sockets === 0 && g.roomsLoaded === p.rooms);
  const withRooms = await reading(ctx);
  ctx.log(`footprint: with ${p.rooms} idle rooms: ${describeReading(withRooms)}`);

  // M sockets, `socketsPerRoom` to a room, over the first of those rooms (already loaded, so
  // only the connections are new).
  const t1 = performance.now();
  const members: Member[] = await mapLimit(
    Array.from({ length: p.sockets }, (_, i) => i),
    p.concurrency,
    async (i) => (await enterRoom(ctx.api, ctx.users[(i + 1) % ctx.users.length]!, roomIds[Math.floor(i / p.socketsPerRoom) % roomIds.length]!, i)).member,
  );
  ctx.log(`footprint: ${p.sockets} sockets connected in ${round((performance.now() - t1) / 1000, 1)} s`);
  await waitForGauges(ctx, `${p.sockets} sockets`, (g) => g.sockets === p.sockets);
  const withSockets = await reading(ctx);
  ctx.log(`footprint: with ${p.sockets} sockets: ${describeReading(withSockets)}`);

  // Throughput of this one gateway: one member in each of `loadMembers` rooms sends (closed
  // loop), and every message fans out to the room's `socketsPerRoom` sockets.
  const loaders = members.filter((_, i) => i % p.socketsPerRoom === 0).slice(0, p.loadMembers);
  let before: Awaited<ReturnType<typeof sampleGateway>> | undefined;
  let after: Awaited<ReturnType<typeof sampleGateway>> | undefined;
  let cpuBefore = cpus();
  let cpuAfter = cpuBefore;
  const load = await runLoad({
    members: loaders,
    inFlight: p.inFlight,
    warmupMs: 2_000,
    durationMs: p.loadSeconds * 1000,
    prefix: `${ctx.runId}-fpload`,
    onWindowStart: async () => {
      cpuBefore = cpus();
      before = await sampleGateway(ctx.gateway);
    },
    onWindowEnd: async () => {
      cpuAfter = cpus();
      after = await sampleGateway(ctx.gateway);
    },
  });
  closeAll(members);
  const seconds = (after!.at - before!.at) / 1000;
  const gatewayCpuPercent = round(((after!.cpuSeconds - before!.cpuSeconds) / seconds) * 100, 0);
  const acksPerSecond = round(load.acksInWindow / (load.windowMs / 1000), 0);
  const batches = after!.batches - before!.batches;
  const throughput = {
    acksPerSecond,
    gatewayCpuPercent,
    acksPerGatewayCoreSecond: gatewayCpuPercent > 0 ? round(acksPerSecond / (gatewayCpuPercent / 100), 0) : NaN,
    machineCpuPercent: machineBusy(cpuBefore, cpuAfter),
    eventsPerBatch: round(batches > 0 ? (after!.events - before!.events) / batches : 0, 1),
    ack: distribution(load.latencies),
    errors: load.errors,
  };
  ctx.log(`footprint: throughput ${acksPerSecond} acks/s with the gateway at ${gatewayCpuPercent}% of a core (machine ${throughput.machineCpuPercent}% busy)`);

  const perIdleRoom = { heapBytes: (withRooms.heapUsedBytes - baseline.heapUsedBytes) / p.rooms, rssBytes: (withRooms.rssBytes - baseline.rssBytes) / p.rooms };
  const perSocket = { heapBytes: (withSockets.heapUsedBytes - withRooms.heapUsedBytes) / p.sockets, rssBytes: (withSockets.rssBytes - withRooms.rssBytes) / p.sockets };
  const summary: FootprintSummary = { params: p, baseline, withRooms, withSockets, perIdleRoom, perSocket, throughput };
  return { summary, figures: footprintFigures(summary) };
}

function footprintFigures(s: FootprintSummary): Figure[] {
  const kib = (bytes: number) => round(bytes / 1024, 1);
  const f = (name: string, value: number, unit: string, note: string, details: Record<string, unknown> = {}): Figure => ({ scenario: 'footprint', name, value, unit, note, details });
  const p = s.params;
  return [
    f('memory per idle loaded room (heap after GC)', kib(s.perIdleRoom.heapBytes), 'KiB', `${p.rooms} rooms of ${p.historyMessages + 1} events vs none: heap ${mib(s.baseline.heapUsedBytes)} -> ${mib(s.withRooms.heapUsedBytes)} MiB`, {
      baseline: s.baseline,
      withRooms: s.withRooms,
    }),
    f('memory per idle loaded room (RSS)', kib(s.perIdleRoom.rssBytes), 'KiB', `RSS ${mib(s.baseline.rssBytes)} -> ${mib(s.withRooms.rssBytes)} MiB`),
    f('memory per connected socket (heap after GC)', kib(s.perSocket.heapBytes), 'KiB', `${p.sockets} sockets vs none, ${p.socketsPerRoom} a room: heap ${mib(s.withRooms.heapUsedBytes)} -> ${mib(s.withSockets.heapUsedBytes)} MiB`, {
      withSockets: s.withSockets,
    }),
    f('memory per connected socket (RSS)', kib(s.perSocket.rssBytes), 'KiB', `RSS ${mib(s.withRooms.rssBytes)} -> ${mib(s.withSockets.rssBytes)} MiB`),
    f('msgs/s per gateway (acks/s)', s.throughput.acksPerSecond, 'msg/s', `${p.loadMembers} rooms x ${p.inFlight} in flight, fan-out ${p.socketsPerRoom}, ${p.loadSeconds} s; gateway ${s.throughput.gatewayCpuPercent}% of a core, machine ${s.throughput.machineCpuPercent}% busy; ${s.throughput.eventsPerBatch} events/commit`, {
      ...s.throughput,
    }),
    f('msgs/s per gateway core', s.throughput.acksPerGatewayCoreSecond, 'msg/s', 'acks/s / the gateway process CPU share (Postgres, the API and the clients not counted)'),
    f('ack latency at that load, p50 / p99', s.throughput.ack.p99, 'ms', `p50 ${s.throughput.ack.p50} ms, n=${s.throughput.ack.n}; errors ${JSON.stringify(s.throughput.errors)}`),
  ];
}
