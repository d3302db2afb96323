import type { ModuleRef } from '@nestjs/core';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createMetricsRegistry, DURATION_BUCKETS, mirrorCounter, readGauge } from '../../../../libs/runtime/src/metrics';
import { DrainService } from '../lifecycle/drain.service';
import { SnapshotScheduler } from '../lifecycle/snapshot.scheduler';
import { RoomRegistry } from '../rooms/room.registry';
import { SocketRoomChannel } from '../transport/socket-room.channel';

/** What the gateway's gauges read at scrape time (plain numbers; nothing is awaited). */
export interface GatewayMetricSources {
  rooms(): number;
  sockets(): number;
  snapshots(): { saved: number; failed: number; stale: number };
  drain(): { state: 'active' | 'draining' | 'drained'; total: number; handedOver: number };
}

const DRAIN_STATES = ['active', 'draining', 'drained'] as const;

/**
 * The gateway's metrics: default process metrics, rooms loaded, connected sockets, group-commit
 * batches/events and commit duration (fed by the writer's `onBatch` hook), snapshots
 * saved/failed/stale and the drain's progress. Everything but the commit hook is read from
 * in-memory state when scraped.
 */
export class GatewayMetrics {
  readonly registry: Registry;
  private readonly batches: Counter;
  private readonly events: Counter;
  private readonly commitSeconds: Histogram;

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
    readGauge(registry, 'gateway_rooms_loaded', 'Rooms this gateway holds (room actors)', () => sources.rooms());
    readGauge(registry, 'gateway_connected_sockets', 'Connected Socket.IO clients', () => sources.sockets());
    mirrorCounter(registry, 'gateway_snapshots_saved_total', 'Room snapshots written to S3', () => sources.snapshots().saved);
    mirrorCounter(registry, 'gateway_snapshots_failed_total', 'Room snapshots that failed (retried with backoff)', () => sources.snapshots().failed);
    mirrorCounter(registry, 'gateway_snapshots_stale_total', 'Room snapshots skipped as stale', () => sources.snapshots().stale);
    readGauge(registry, 'gateway_drain_rooms_total', 'Rooms to hand over in the current drain (0 when not draining)', () => sources.drain().total);
    readGauge(registry, 'gateway_drain_rooms_handed_over', 'Rooms handed over so far by the current drain', () => sources.drain().handedOver);
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
