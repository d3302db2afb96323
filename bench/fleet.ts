/**
 * The multi-gateway simulation (issue 8, acceptance 3): N gateways, a few thousand rooms each
 * with one connected member, some members sending throughout, and a rolling restart (SIGTERM =
 * drain, then a start with the same id) of every gateway in turn. Reports per-gateway room
 * counts before and after each step, the hand-over time of every moved room, the placement of
 * rooms created after the restart, Redis and Postgres bytes per room and per event, and checks
 * in one SQL query that every acknowledged message is in the log exactly once at its seq.
 * Run by bench/fleet-main.ts, which owns the stack; the building blocks are test/support/fleet.ts
 * (shared with test/fleet.e2e-spec.ts).
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { ApiClient, TestUser } from '../test/support/client';
import {
  checkExactlyOnce,
  drainAndRestart,
  type ExactlyOnce,
  type FleetRoom,
  type GatewayCount,
  populateRooms,
  type RestartStep,
  settledCounts,
  spreadOf,
  startTraffic,
} from '../test/support/fleet';
import type { TestStack } from '../test/support/stack';
import { distribution, type Figure, round, sampleGateways, sleep } from './lib';

export interface FleetParams {
  gateways: number;
  rooms: number;
  /** Rooms whose member keeps sending during the restart. */
  senders: number;
  /** Pause of each sender between an ack and its next send (ms). */
  pauseMs: number;
  /** Rooms created once the restart is over, to show where placement puts them. */
  afterRooms: number;
  concurrency: number;
}

export interface FleetContext {
  stack: TestStack;
  api: ApiClient;
  admin: TestUser;
  users: readonly TestUser[];
  pool: Pool;
  redisUrl: string;
  runId: string;
  rooms: FleetRoom[];
  log: (line: string) => void;
}

export interface StepReport extends Omit<RestartStep, 'handOverMs' | 'joinAttemptMs'> {
  handOver: ReturnType<typeof distribution>;
  joinAttempt: ReturnType<typeof distribution>;
  acksDuringStep: number;
  stepMs: number;
}

export interface FleetSummary {
  params: FleetParams;
  populate: { seconds: number; roomsPerSecond: number; counts: GatewayCount[] };
  steps: StepReport[];
  /** Every moved room of every step. */
  handOverAll: ReturnType<typeof distribution>;
  afterRestart: GatewayCount[];
  afterNewRooms: GatewayCount[];
  newRoomsPlacement: Record<string, number>;
  spread: ReturnType<typeof spreadOf>;
  traffic: { seconds: number; acked: number; acksPerSecond: number; failures: string[] };
  log: ExactlyOnce;
  gateways: Array<{ id: string; rssMiB: number; rooms: number; sockets: number }>;
  redis: { keys: number; bytes: number; bytesPerRoom: number };
  postgres: { events: number; bytes: number; bytesPerEvent: number };
}

const countsLine = (counts: readonly GatewayCount[]) => counts.map((c) => `${c.id.replace(/^.*-gw-/, 'gw-')} ${c.rooms}`).join(', ');

/** Bytes of every key in the stack's Redis database (MEMORY USAGE, per-key overhead included). */
async function redisBytes(url: string): Promise<{ keys: number; bytes: number }> {
  const redis = new Redis(url, { maxRetriesPerRequest: 2 });
  try {
    let keys = 0;
    let bytes = 0;
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
      cursor = next;
      if (batch.length === 0) continue;
      const pipeline = redis.pipeline();
      for (const key of batch) pipeline.memory('USAGE', key);
      for (const [err, value] of (await pipeline.exec()) ?? []) {
        if (!err && typeof value === 'number') bytes += value;
      }
      keys += batch.length;
    } while (cursor !== '0');
    return { keys, bytes };
  } finally {
    redis.disconnect();
  }
}

/** Size of `room_events` with its indexes (and its partitions, if it is partitioned), and its rows. */
async function logBytes(pool: Pool): Promise<{ events: number; bytes: number }> {
  const { rows } = await pool.query<{ bytes: string; events: string }>(
    `SELECT pg_total_relation_size('room_events')
              + coalesce((SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'room_events'::regclass), 0) AS bytes,
            (SELECT count(*) FROM room_events) AS events`,
  );
  return { events: Number(rows[0]!.events), bytes: Number(rows[0]!.bytes) };
}

export async function runFleet(ctx: FleetContext, p: FleetParams): Promise<{ summary: FleetSummary; figures: Figure[]; problems: string[] }> {
  const problems: string[] = [];
  const t0 = performance.now();
  ctx.rooms.push(...(await populateRooms(ctx.api, ctx.users, { count: p.rooms, senders: p.senders, concurrency: p.concurrency, name: `fleet${ctx.runId}` })));
  const populateSeconds = (performance.now() - t0) / 1000;
  const populated = await settledCounts(ctx.api, ctx.admin, ctx.stack, p.rooms, 120_000);
  ctx.log(`fleet: ${p.rooms} rooms created and joined in ${round(populateSeconds, 1)} s: ${countsLine(populated)}`);

  const prefix = `${ctx.runId}-fleet`;
  const trafficAt = performance.now();
  const traffic = startTraffic(ctx.rooms, { prefix, pauseMs: p.pauseMs });
  await sleep(3_000);
  ctx.log(`fleet: ${p.senders} members sending (pause ${p.pauseMs} ms): ${traffic.acked()} acks in the first 3 s`);

  const steps: StepReport[] = [];
  const handOverAll: number[] = [];
  for (const gw of ctx.stack.gateways.map((g) => g.id)) {
    const stepAt = performance.now();
    const acksBefore = traffic.acked();
    const { handOverMs, joinAttemptMs, ...step } = await drainAndRestart(ctx.stack, ctx.api, ctx.admin, ctx.rooms, gw);
    handOverAll.push(...handOverMs);
    const report: StepReport = {
      ...step,
      handOver: distribution(handOverMs),
      joinAttempt: distribution(joinAttemptMs),
      acksDuringStep: traffic.acked() - acksBefore,
      stepMs: round(performance.now() - stepAt, 0),
    };
    steps.push(report);
    if (report.exit.code !== 0) problems.push(`${gw} exited ${report.exit.code ?? report.exit.signal} after SIGTERM`);
    if (report.handOver.n !== report.roomsMoved) problems.push(`${gw}: ${report.roomsMoved - report.handOver.n} moved room(s) without a measured hand-over`);
    ctx.log(
      `fleet: ${gw}: before [${countsLine(step.before)}]; drained ${step.roomsMoved} rooms in ${round(step.drainMs / 1000, 1)} s ` +
        `(gateway: per room median ${step.drainLog?.perRoomMedianMs ?? '?'} ms, max ${step.drainLog?.perRoomMaxMs ?? '?'} ms); ` +
        `members served again p50 ${report.handOver.p50} ms, p99 ${report.handOver.p99} ms, max ${report.handOver.max} ms; ` +
        `restarted in ${round(step.restartMs / 1000, 1)} s; after [${countsLine(step.after)}]; ${report.acksDuringStep} acks during the step`,
    );
  }
  const afterRestart = steps.at(-1)?.after ?? populated;

  const newRooms = await populateRooms(ctx.api, ctx.users, { count: p.afterRooms, senders: 0, concurrency: p.concurrency, name: `fleetnew${ctx.runId}`, offset: p.rooms });
  ctx.rooms.push(...newRooms);
  const afterNewRooms = await settledCounts(ctx.api, ctx.admin, ctx.stack, p.rooms + p.afterRooms, 120_000);
  const newRoomsPlacement: Record<string, number> = {};
  for (const room of newRooms) newRoomsPlacement[room.member.gatewayId ?? '?'] = (newRoomsPlacement[room.member.gatewayId ?? '?'] ?? 0) + 1;
  const spread = spreadOf(afterNewRooms);
  ctx.log(`fleet: ${p.afterRooms} new rooms after the restart: placed ${JSON.stringify(newRoomsPlacement)}; now [${countsLine(afterNewRooms)}] (min/max of mean ${spread.min}/${spread.max})`);

  const failures = await traffic.stop();
  const trafficSeconds = (performance.now() - trafficAt) / 1000;
  const log = await checkExactlyOnce(ctx.pool, ctx.rooms, prefix);
  if (failures.length) problems.push(`${failures.length} sender(s) gave up: ${failures.slice(0, 3).join('; ')}`);
  if (log.lost) problems.push(`${log.lost} acknowledged message(s) missing from the log or at another seq`);
  if (log.unexpected) problems.push(`${log.unexpected} message(s) of the run in the log that were not acknowledged at that seq`);
  const conflicts = ctx.rooms.reduce((sum, r) => sum + r.member.conflicts.length, 0);
  if (conflicts) problems.push(`${conflicts} seq(s) received with two different events`);
  ctx.log(`fleet: log check: ${log.acked} acknowledged, ${log.atAckedSeq} in the log at their seq, ${log.rowsWithPrefix} rows of the run (lost ${log.lost}, unexpected ${log.unexpected})`);

  const samples = await sampleGateways(ctx.stack.gateways);
  const gateways = samples.map((s) => ({ id: s.id, rssMiB: round(s.rssBytes / 2 ** 20, 1), rooms: s.rooms, sockets: s.sockets }));
  const redis = await redisBytes(ctx.redisUrl);
  const pg = await logBytes(ctx.pool);
  const totalRooms = p.rooms + p.afterRooms;
  const summary: FleetSummary = {
    params: p,
    populate: { seconds: round(populateSeconds, 1), roomsPerSecond: round(p.rooms / populateSeconds, 1), counts: populated },
    steps,
    handOverAll: distribution(handOverAll),
    afterRestart,
    afterNewRooms,
    newRoomsPlacement,
    spread,
    traffic: { seconds: round(trafficSeconds, 1), acked: log.acked, acksPerSecond: round(log.acked / trafficSeconds, 0), failures },
    log,
    gateways,
    redis: { ...redis, bytesPerRoom: round(redis.bytes / totalRooms, 0) },
    postgres: { ...pg, bytesPerEvent: round(pg.bytes / Math.max(1, pg.events), 0) },
  };
  return { summary, figures: fleetFigures(summary), problems };
}

function fleetFigures(s: FleetSummary): Figure[] {
  const f = (name: string, value: number, unit: string, note: string, details: Record<string, unknown> = {}): Figure => ({ scenario: 'fleet', name, value, unit, note, details });
  const figures: Figure[] = [
    f('rooms placed, each with a member', s.params.rooms, 'rooms', `${s.populate.seconds} s (${s.populate.roomsPerSecond} rooms/s); per gateway ${countsLine(s.populate.counts)}`, { counts: s.populate.counts }),
  ];
  for (const step of s.steps) {
    figures.push(
      f(`drain+restart ${step.gatewayId.replace(/^.*-gw-/, 'gw-')}: hand-over p50`, step.handOver.p50, 'ms', `${step.roomsMoved} rooms; p99 ${step.handOver.p99}, max ${step.handOver.max} ms; drain ${round(step.drainMs / 1000, 1)} s; after ${countsLine(step.after)}`, {
        before: step.before,
        after: step.after,
        movedTo: step.movedTo,
        handOver: step.handOver,
        joinAttempt: step.joinAttempt,
        drainLog: step.drainLog,
        drainMs: step.drainMs,
        restartMs: step.restartMs,
        acksDuringStep: step.acksDuringStep,
      }),
    );
  }
  figures.push(
    f('hand-over, every moved room: p50', s.handOverAll.p50, 'ms', `p99 ${s.handOverAll.p99} ms, max ${s.handOverAll.max} ms, n=${s.handOverAll.n}: from room:moved at the member to its join ack on the new gateway`),
    f('new rooms after the restart: max/mean per gateway', s.spread.max, 'x', `min ${s.spread.min}x; placed ${JSON.stringify(s.newRoomsPlacement)}; now ${countsLine(s.afterNewRooms)}`, { counts: s.afterNewRooms }),
    f('acked during the rolling restart', s.traffic.acked, 'msgs', `${s.traffic.acksPerSecond} msg/s over ${s.traffic.seconds} s; ${s.traffic.failures.length} senders gave up`),
    f('acked messages lost or doubled', s.log.lost + s.log.unexpected, 'msgs', `${s.log.atAckedSeq}/${s.log.acked} in the log once at their seq; ${s.log.rowsWithPrefix} rows of the run`),
    f('Redis bytes per room (all keys / rooms)', s.redis.bytesPerRoom, 'B', `${s.redis.keys} keys, ${round(s.redis.bytes / 2 ** 20, 2)} MiB (MEMORY USAGE) for ${s.params.rooms + s.params.afterRooms} rooms`),
    f('Postgres bytes per event (room_events with indexes)', s.postgres.bytesPerEvent, 'B', `${s.postgres.events} events, ${round(s.postgres.bytes / 2 ** 20, 1)} MiB`),
    f('gateway RSS at the end, max', Math.max(...s.gateways.map((g) => g.rssMiB)), 'MiB', s.gateways.map((g) => `${g.id.replace(/^.*-gw-/, 'gw-')} ${g.rssMiB} MiB/${g.rooms} rooms/${g.sockets} sockets`).join(', ')),
  );
  return figures;
}
