import { GatewayMetrics, type GatewayMetricSources } from './gateway.metrics';

const SOURCES: GatewayMetricSources = {
  rooms: () => 3,
  sockets: () => 5,
  snapshots: () => ({ saved: 1, failed: 0, stale: 0 }),
  drain: () => ({ state: 'active', total: 0, handedOver: 0 }),
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keeps the event loop busy for `ms` (what a synchronous snapshot encode does). */
function blockLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

/** Scrapes like Prometheus and returns the loop delay by quantile, seconds. */
async function loopDelay(metrics: GatewayMetrics): Promise<Record<string, number>> {
  const text = await metrics.registry.metrics();
  const figures: Record<string, number> = {};
  for (const match of text.matchAll(/^gateway_event_loop_delay_seconds\{[^}]*quantile="([^"]+)"[^}]*\} (\S+)$/gm)) {
    figures[match[1]!] = Number(match[2]);
  }
  return figures;
}

describe(GatewayMetrics.name, () => {
  it('exposes the gateway gauges with the gateway label', async () => {
    const text = await new GatewayMetrics('gw-test', SOURCES).registry.metrics();
    expect(text).toMatch(/^gateway_rooms_loaded\{[^}]*gateway="gw-test"[^}]*\} 3$/m);
    expect(text).toMatch(/^# TYPE gateway_event_loop_delay_seconds gauge$/m);
  });

  it('gateway_event_loop_delay_seconds: p99 shows a 250 ms stall, and the next window forgets it', async () => {
    const metrics = new GatewayMetrics('gw-test', SOURCES);
    await sleep(50);
    await loopDelay(metrics); // opens a fresh window

    await sleep(30);
    blockLoop(250);
    await sleep(30);
    const stalled = await loopDelay(metrics);
    expect(Object.keys(stalled).sort()).toEqual(['0.5', '0.99']);
    expect(stalled['0.99']).toBeGreaterThanOrEqual(0.2);
    expect(stalled['0.5']).toBeLessThanOrEqual(stalled['0.99']!);

    await sleep(100);
    const after = await loopDelay(metrics);
    expect(after['0.99']).toBeLessThan(0.2);
  });
});
