import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ModuleRef } from '@nestjs/core';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AckErrorCode } from '../../../../libs/domain/src';
import { createMetricsRegistry, DURATION_BUCKETS, mirrorCounter, readGauge } from '../../../../libs/runtime/src/metrics';
import { DrainService } from '../lifecycle/drain.service';
import { SnapshotScheduler } from '../lifecycle/snapshot.scheduler';
import type { CommitOutcome } from '../rooms/group-commit.writer';
import { RoomRegistry, type RoomLoadOutcome } from '../rooms/room.registry';
import { SocketRoomChannel } from '../transport/socket-room.channel';

/** What the gateway's gauges read at scrape time (plain numbers; nothing is awaited). */
export interface GatewayMetricSources {
  rooms(): number;
  sockets(): number;
  snapshots(): { saved: number; failed: number; stale: number };
  drain(): { state: 'active' | 'draining' | 'drained'; total: number; handedOver: number };
}

const DRAIN_STATES = ['active', 'draining', 'drained'] as const;
const COMMIT_OUTCOMES: readonly CommitOutcome[] = ['committed', 'refused', 'duplicate', 'rejected', 'error'];
const LOAD_OUTCOMES: readonly RoomLoadOutcome[] = ['loaded', 'not_found', 'failed'];

/** The acknowledged socket commands whose latency is measured (the label `command`). */
export type AckCommand = 'join' | 'send' | 'edit' | 'delete' | 'react' | 'typing' | 'leave' | 'member' | 'read';
/** How an ack ended (the label `outcome`): `ok` or the ack's error code. */
export type AckOutcome = 'ok' | AckErrorCode;

/**
 * Buckets for ack and room-load durations, seconds: an ack at light load takes a few ms, one
 * that queues behind a busy group commit tens of ms; a resume from a snapshot tens of ms, a full
 * replay or an S3 timeout seconds.
 */
const ACK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Sampling period of the event-loop delay histogram, ms. Each sample is the time between two
 * ticks of a timer of this period, so the period is subtracted to report the delay alone.
 */
const LOOP_DELAY_RESOLUTION_MS = 10;
const LOOP_DELAY_QUANTILES = [0.5, 0.99] as const;

/**
 * The gateway's metrics: default process metrics, rooms loaded, connected sockets, group-commit
 * batches/events and commit duration (fed by the writer's `onBatch` hook), commit outcomes per
 * event (its `onOutcome` hook), ack latency per command and outcome (the transport), room load
 * (resume) duration and outcome (the registry's `onLoadSettled` hook), snapshots
 * saved/failed/stale, the drain's progress and the event-loop delay. Everything but the hooks
 * is read from in-memory state when scraped.
 */
export class GatewayMetrics {
  readonly registry: Registry;
  private readonly batches: Counter;
  private readonly events: Counter;
  private readonly commitSeconds: Histogram;
  private readonly commitOutcomes: Counter<'outcome'>;
  private readonly ackSeconds: Histogram<'command' | 'outcome'>;
  private readonly loadSeconds: Histogram<'outcome'>;

  constructor(gatewayId: string, sources: GatewayMetricSources) {
    const registry = createMetricsRegistry({ app: 'gateway', gateway: gatewayId });
    this.registry = registry;
    this.batches = new Counter({
      name: 'gateway_commit_batches_total',
      help: 'Group-commit statements that ran (one per round trip, shared by every room in it)',
      registers: [registry],
    });
    this.events = new Counter({
      name: 'gateway_commit_events_total',
      help: 'Events sent in group-commit statements that ran',
      registers: [registry],
    });
    this.commitSeconds = new Histogram({
      name: 'gateway_commit_duration_seconds',
      help: 'Duration of one group-commit statement (append round trip)',
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
    this.commitOutcomes = new Counter({
      name: 'gateway_commit_outcomes_total',
      help: 'Events settled by the group commit, by outcome: committed, refused (fenced: epoch or head moved), duplicate (clientMsgId already in the log), rejected (data refused), error (database failed)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    for (const outcome of COMMIT_OUTCOMES) this.commitOutcomes.inc({ outcome }, 0);
    this.ackSeconds = new Histogram({
      name: 'gateway_ack_duration_seconds',
      help: 'Time from a socket command reaching the gateway to its acknowledgement, by command and outcome (ok or the ack error code)',
      labelNames: ['command', 'outcome'],
      buckets: ACK_BUCKETS,
      registers: [registry],
    });
    this.loadSeconds = new Histogram({
      name: 'gateway_room_load_duration_seconds',
      help: 'Room loads (resume: lease, newest snapshot, log tail), by outcome: loaded, not_found, failed',
      labelNames: ['outcome'],
      buckets: ACK_BUCKETS,
      registers: [registry],
    });
    for (const outcome of LOAD_OUTCOMES) this.loadSeconds.zero({ outcome });
    readGauge(registry, 'gateway_rooms_loaded', 'Rooms this gateway holds (room actors)', () => sources.rooms());
    readGauge(registry, 'gateway_connected_sockets', 'Connected Socket.IO clients', () => sources.sockets());
    mirrorCounter(registry, 'gateway_snapshots_saved_total', 'Room snapshots written to S3', () => sources.snapshots().saved);
    mirrorCounter(registry, 'gateway_snapshots_failed_total', 'Room snapshots that failed (retried with backoff)', () => sources.snapshots().failed);
    mirrorCounter(registry, 'gateway_snapshots_stale_total', 'Room snapshots skipped as stale', () => sources.snapshots().stale);
    readGauge(registry, 'gateway_drain_rooms_total', 'Rooms to hand over in the current drain (0 when not draining)', () => sources.drain().total);
    readGauge(registry, 'gateway_drain_rooms_handed_over', 'Rooms handed over so far by the current drain', () => sources.drain().handedOver);
    eventLoopDelayGauge(registry);
    new Gauge({
      name: 'gateway_drain_state',
      help: 'Drain state: 1 for the current one of active, draining, drained',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const current = sources.drain().state;
        for (const state of DRAIN_STATES) this.set({ state }, state === current ? 1 : 0);
      },
    });
  }

  /** The GroupCommitWriter's `onBatch` hook: one call per statement that ran. */
  readonly onBatch = (events: number, durationMs: number): void => {
    this.batches.inc();
    this.events.inc(events);
    this.commitSeconds.observe(durationMs / 1000);
  };

  /** The GroupCommitWriter's `onOutcome` hook: `events` of one room settled with `outcome`. */
  readonly onCommitOutcome = (outcome: CommitOutcome, events: number): void => {
    this.commitOutcomes.inc({ outcome }, events);
  };

  /** The RoomRegistry's `onLoadSettled` hook: one room load ended. */
  readonly onRoomLoad = (outcome: RoomLoadOutcome, durationMs: number): void => {
    this.loadSeconds.observe({ outcome }, durationMs / 1000);
  };

  /** One acknowledgement sent by the transport, `seconds` after its command arrived. */
  observeAck(command: AckCommand, outcome: AckOutcome, seconds: number): void {
    this.ackSeconds.observe({ command, outcome }, seconds);
  }
}

/**
 * `gateway_event_loop_delay_seconds{quantile="0.5"|"0.99"}`: the delay over the window since the
 * previous scrape (the histogram is reset by each scrape), so a stall shows in the next scrape and
 * is gone from the one after. A scrape with no sample since the last (less than one period
 * apart) repeats the previous figures. prom-client's `nodejs_eventloop_lag_*` gauges include the
 * sampling period in every value.
 */
function eventLoopDelayGauge(registry: Registry): Gauge {
  const histogram = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  histogram.enable();
  const gauge = new Gauge({
    name: 'gateway_event_loop_delay_seconds',
    help: 'Event-loop delay since the previous scrape, by quantile (perf_hooks.monitorEventLoopDelay)',
    labelNames: ['quantile'],
    registers: [registry],
    collect() {
      if (histogram.count > 0) {
        for (const q of LOOP_DELAY_QUANTILES) {
          const ms = histogram.percentile(q * 100) / 1e6 - LOOP_DELAY_RESOLUTION_MS;
          this.set({ quantile: String(q) }, Math.max(0, ms) / 1000);
        }
      }
      histogram.reset();
    },
  });
  for (const q of LOOP_DELAY_QUANTILES) gauge.set({ quantile: String(q) }, 0);
  return gauge;
}

/** Sources resolved lazily from the gateway's module (the writer is built before the rooms). */
export function moduleSources(moduleRef: ModuleRef): GatewayMetricSources {
  return {
    rooms: () => moduleRef.get(RoomRegistry, { strict: false }).size,
    sockets: () => moduleRef.get(SocketRoomChannel, { strict: false }).connectionCount(),
    snapshots: () => moduleRef.get(SnapshotScheduler, { strict: false }).stats,
    drain: () => moduleRef.get(DrainService, { strict: false }).progress,
  };
}
