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

/** The value of the sample `name` whose labels include every one of `labels`, or undefined. */
async function sample(metrics: GatewayMetrics, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await metrics.registry.metrics();
  for (const match of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    const have = match[1]!;
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) return Number(match[2]);
  }
  return undefined;
}

describe(GatewayMetrics.name, () => {
  it('gateway_commit_outcomes_total counts the events of each outcome the writer reports, every outcome present from the start', async () => {
    const metrics = new GatewayMetrics('gw-test', SOURCES);
    for (const outcome of ['committed', 'refused', 'duplicate', 'rejected', 'error']) {
      expect(await sample(metrics, 'gateway_commit_outcomes_total', { outcome })).toBe(0);
    }
    metrics.onCommitOutcome('committed', 5);
    metrics.onCommitOutcome('committed', 2);
    metrics.onCommitOutcome('refused', 3);
    metrics.onCommitOutcome('error', 1);
    expect(await sample(metrics, 'gateway_commit_outcomes_total', { outcome: 'committed', gateway: 'gw-test' })).toBe(7);
    expect(await sample(metrics, 'gateway_commit_outcomes_total', { outcome: 'refused' })).toBe(3);
    expect(await sample(metrics, 'gateway_commit_outcomes_total', { outcome: 'error' })).toBe(1);
    expect(await sample(metrics, 'gateway_commit_outcomes_total', { outcome: 'duplicate' })).toBe(0);
  });

  it('gateway_ack_duration_seconds is a histogram by command and outcome', async () => {
    const metrics = new GatewayMetrics('gw-test', SOURCES);
    metrics.observeAck('send', 'ok', 0.004);
    metrics.observeAck('send', 'ok', 0.2);
    metrics.observeAck('send', 'unavailable', 10.5);
    metrics.observeAck('join', 'ok', 0.02);
    expect(await sample(metrics, 'gateway_ack_duration_seconds_count', { command: 'send', outcome: 'ok' })).toBe(2);
    expect(await sample(metrics, 'gateway_ack_duration_seconds_bucket', { command: 'send', outcome: 'ok', le: '0.005' })).toBe(1);
    expect(await sample(metrics, 'gateway_ack_duration_seconds_bucket', { command: 'send', outcome: 'ok', le: '0.25' })).toBe(2);
    expect(await sample(metrics, 'gateway_ack_duration_seconds_sum', { command: 'send', outcome: 'ok' })).toBeCloseTo(0.204, 6);
    expect(await sample(metrics, 'gateway_ack_duration_seconds_bucket', { command: 'send', outcome: 'unavailable', le: '10' })).toBe(0);
    expect(await sample(metrics, 'gateway_ack_duration_seconds_count', { command: 'join', outcome: 'ok' })).toBe(1);
  });

  it('gateway_room_load_duration_seconds records each load by outcome, in seconds', async () => {
    const metrics = new GatewayMetrics('gw-test', SOURCES);
    expect(await sample(metrics, 'gateway_room_load_duration_seconds_count', { outcome: 'failed' })).toBe(0);
    metrics.onRoomLoad('loaded', 40);
    metrics.onRoomLoad('loaded', 3_000);
    metrics.onRoomLoad('failed', 12);
    expect(await sample(metrics, 'gateway_room_load_duration_seconds_count', { outcome: 'loaded' })).toBe(2);
    expect(await sample(metrics, 'gateway_room_load_duration_seconds_bucket', { outcome: 'loaded', le: '0.05' })).toBe(1);
    expect(await sample(metrics, 'gateway_room_load_duration_seconds_sum', { outcome: 'loaded' })).toBeCloseTo(3.04, 6);
    expect(await sample(metrics, 'gateway_room_load_duration_seconds_count', { outcome: 'failed' })).toBe(1);
    expect(await sample(metrics, 'gateway_room_load_duration_seconds_count', { outcome: 'not_found' })).toBe(0);
  });

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
