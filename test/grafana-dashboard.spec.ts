/**
 * The Grafana dashboard (docker/grafana/durable-rooms.json) queries only metrics the code
 * registers: every metric name in a panel's PromQL, or in a template variable, must be one the
 * gateway, API or worker registry exposes (histograms with their _bucket/_sum/_count series). A
 * renamed metric breaks this test instead of silently emptying a panel.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiMetrics } from '../apps/api/src/metrics/api.metrics';
import { GatewayMetrics } from '../apps/gateway/src/metrics/gateway.metrics';
import { WorkerMetrics } from '../apps/worker/src/metrics/worker.metrics';

const DASHBOARD = join(__dirname, '..', 'docker', 'grafana', 'durable-rooms.json');

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
}

/** PromQL words that are not metric names. */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset']);

/**
 * The metric names a PromQL expression reads: identifiers left once strings, label matchers,
 * ranges and grouping clauses are removed, that are not followed by `(` (functions) and are not
 * keywords. `label_values(metric, label)` (a Grafana variable) reads its first argument.
 */
function metricNamesIn(expr: string): string[] {
  const labelValues = /^label_values\(\s*([A-Za-z_:][\w:]*)\s*,/.exec(expr.trim());
  if (labelValues) return [labelValues[1]!];
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(/[A-Za-z_:][\w:]*(?!\w)(\s*\()?/g)) {
    const [word, call] = [match[0].replace(/\s*\($/, ''), match[1]];
    if (!call && !KEYWORDS.has(word) && !/^\d/.test(word)) names.add(word);
  }
  return [...names];
}

/** Every series name the three processes' registries expose. */
async function registeredNames(): Promise<Set<string>> {
  const registries = [
    new GatewayMetrics('gw-dashboard', {
      rooms: () => 0,
      sockets: () => 0,
      snapshots: () => ({ saved: 0, failed: 0, stale: 0 }),
      drain: () => ({ state: 'active', total: 0, handedOver: 0 }),
    }).registry,
    new ApiMetrics().registry,
    new WorkerMetrics([]).registry,
  ];
  const names = new Set<string>();
  for (const registry of registries) {
    for (const metric of await registry.getMetricsAsJSON()) {
      names.add(metric.name);
      const type = String(metric.type);
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
      if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(metric.name + suffix);
    }
  }
  return names;
}

function dashboard(): { panels: Panel[]; templating: { list: Array<{ definition?: string }> } } {
  return JSON.parse(readFileSync(DASHBOARD, 'utf8'));
}

function expressions(): Array<{ where: string; expr: string }> {
  const d = dashboard();
  const fromPanels = d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr })));
  const fromVariables = d.templating.list.filter((v) => v.definition).map((v) => ({ where: 'a template variable', expr: v.definition! }));
  return [...fromPanels, ...fromVariables];
}

describe('docker/grafana/durable-rooms.json', () => {
  it('queries only metrics that the gateway, API or worker registers', async () => {
    const known = await registeredNames();
    const unknown = expressions().flatMap(({ where, expr }) => metricNamesIn(expr).filter((n) => !known.has(n)).map((n) => `${n} (${where})`));
    expect(unknown).toEqual([]);
  });

  it('has a query in every panel and panels for what operators watch', () => {
    const d = dashboard();
    for (const panel of d.panels.filter((p) => p.type !== 'row')) expect(panel.targets?.length).toBeGreaterThan(0);
    const queried = new Set(expressions().flatMap(({ expr }) => metricNamesIn(expr)));
    for (const name of [
      'gateway_ack_duration_seconds_count', // send rate
      'gateway_ack_duration_seconds_bucket', // ack latency p50/p99
      'gateway_commit_outcomes_total',
      'gateway_commit_duration_seconds_bucket',
      'gateway_rooms_loaded',
      'gateway_connected_sockets',
      'gateway_event_loop_delay_seconds',
      'gateway_snapshots_saved_total',
      'gateway_room_load_duration_seconds_bucket', // resume duration
      'gateway_drain_rooms_handed_over',
      'worker_queue_jobs',
      'worker_jobs_total',
      'process_resident_memory_bytes',
    ]) {
      expect([name, queried.has(name)]).toEqual([name, true]);
    }
    expect(expressions().some(({ expr }) => expr.includes('gateway_event_loop_delay_seconds{quantile="0.99"'))).toBe(true);
  });
});

describe(metricNamesIn.name, () => {
  it('finds the metric names of an expression, not its functions, labels, ranges or grouping', () => {
    expect(
      metricNamesIn('histogram_quantile(0.99, sum by (le) (rate(gateway_ack_duration_seconds_bucket{command="send",gateway=~"$gateway"}[$__rate_interval])))'),
    ).toEqual(['gateway_ack_duration_seconds_bucket']);
    expect(metricNamesIn('sum(rate(a_total[5m])) / sum(rate(b_total[5m]))').sort()).toEqual(['a_total', 'b_total']);
    expect(metricNamesIn('max by (queue, state) (worker_queue_jobs)')).toEqual(['worker_queue_jobs']);
    expect(metricNamesIn('label_values(gateway_rooms_loaded, gateway)')).toEqual(['gateway_rooms_loaded']);
  });

  it('reports a renamed metric as unknown', async () => {
    const known = await registeredNames();
    expect(metricNamesIn('rate(gateway_commit_outcome_total[5m])').filter((n) => !known.has(n))).toEqual(['gateway_commit_outcome_total']);
  });
});
