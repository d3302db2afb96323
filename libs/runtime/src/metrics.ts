import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/**
 * Prometheus metrics shared by the API and the gateways (`GET /metrics`, text format).
 *
 * Every process has its own registry (not prom-client's global one), so tests and several apps
 * in one process never collide. Scraping is read-only and cheap: gauges and mirrored counters
 * read in-memory numbers at scrape time; nothing touches Postgres, Redis or S3. The endpoint is
 * not authenticated: keep it on an internal network (see the README).
 */

/** Injection token of the process's `Registry`, read by `MetricsController`. */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

/** Seconds-based buckets for request and commit durations (1 ms … 10 s). */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * A registry with Node's default process metrics (CPU, memory, event loop lag, GC, handles)
 * and the given labels on every series (e.g. `{app: 'gateway', gateway: 'gw-1'}`).
 */
export function createMetricsRegistry(defaultLabels: Record<string, string>): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(defaultLabels);
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** A gauge whose value is read from `read()` at scrape time. */
export function readGauge(registry: Registry, name: string, help: string, read: () => number): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/**
 * A counter that mirrors a monotonic number kept elsewhere (e.g. `SnapshotScheduler.stats`),
 * read at scrape time, so the code that counts needs no metrics dependency.
 */
export function mirrorCounter(registry: Registry, name: string, help: string, read: () => number): Counter {
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      const value = read();
      if (value > 0) this.inc(value);
    },
  });
}

/** `GET /metrics`: the process's registry in Prometheus text format. Unauthenticated. */
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get()
  async metrics(@Res() res: Response): Promise<void> {
    const body = await this.registry.metrics();
    res.setHeader('Content-Type', this.registry.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.status(200).send(body);
  }
}
