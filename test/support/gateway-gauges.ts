/**
 * What an operator reads off a gateway's `GET /metrics` to judge its health over time: memory
 * (RSS, V8 heap), rooms loaded, sockets and event-loop delay. Parsed from the Prometheus text
 * format with labels kept, so one quantile of a summary-like gauge can be picked.
 */

export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format → one sample per line (comments and unparsable lines skipped). */
export function parsePrometheus(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const value = Number(match[3]);
    if (Number.isNaN(value)) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

/** The first sample of `name` whose labels include `labels`; undefined when there is none. */
export function pick(samples: MetricSample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/**
 * prom-client samples its `nodejs_eventloop_lag_*` gauges every 10 ms (its default precision),
 * and every value includes that period: an idle loop reads about 10 ms.
 */
const PROM_CLIENT_LAG_RESOLUTION_MS = 10;

export interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  /**
   * `gateway`: `gateway_event_loop_delay_seconds{quantile}` (the gateway's own gauge);
   * `prom-client`: the default `nodejs_eventloop_lag_p50/p99_seconds` minus their 10 ms sampling
   * period, for gateways that do not export the former.
   * Both cover the window since the previous scrape (each scrape resets their histogram).
   */
  source: 'gateway' | 'prom-client';
}

export function loopDelayOf(samples: MetricSample[]): LoopDelay | undefined {
  const p99 = pick(samples, 'gateway_event_loop_delay_seconds', { quantile: '0.99' });
  if (p99 !== undefined) {
    const p50 = pick(samples, 'gateway_event_loop_delay_seconds', { quantile: '0.5' }) ?? NaN;
    return { p50Ms: p50 * 1000, p99Ms: p99 * 1000, source: 'gateway' };
  }
  const lagP99 = pick(samples, 'nodejs_eventloop_lag_p99_seconds');
  if (lagP99 === undefined) return undefined;
  const lagP50 = pick(samples, 'nodejs_eventloop_lag_p50_seconds') ?? NaN;
  const net = (seconds: number) => Math.max(0, seconds * 1000 - PROM_CLIENT_LAG_RESOLUTION_MS);
  return { p50Ms: net(lagP50), p99Ms: net(lagP99), source: 'prom-client' };
}

export interface GatewayGauges {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  roomsLoaded: number;
  sockets: number;
  cpuSeconds: number;
  loop: LoopDelay | undefined;
}

/** One scrape of a gateway's `/metrics`. Resets the loop-delay window: scrape from one place only. */
export async function readGatewayGauges(gatewayUrl: string, timeoutMs = 5_000): Promise<GatewayGauges> {
  const res = await fetch(`${gatewayUrl}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET ${gatewayUrl}/metrics: ${res.status}`);
  const samples = parsePrometheus(await res.text());
  const required = (name: string) => {
    const value = pick(samples, name);
    if (value === undefined) throw new Error(`GET ${gatewayUrl}/metrics: no ${name}`);
    return value;
  };
  return {
    rssBytes: required('process_resident_memory_bytes'),
    heapUsedBytes: required('nodejs_heap_size_used_bytes'),
    heapTotalBytes: required('nodejs_heap_size_total_bytes'),
    roomsLoaded: required('gateway_rooms_loaded'),
    sockets: required('gateway_connected_sockets'),
    cpuSeconds: required('process_cpu_seconds_total'),
    loop: loopDelayOf(samples),
  };
}

export const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
