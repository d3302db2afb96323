import { type QueueCounts, type QueueState, WorkerMetrics } from './worker.metrics';

/** The value of the sample `name` whose labels include every one of `labels`, or undefined. */
async function sample(metrics: WorkerMetrics, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await metrics.registry.metrics();
  for (const match of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    if (Object.entries(labels).every(([k, v]) => match[1]!.includes(`${k}="${v}"`))) return Number(match[2]);
  }
  return undefined;
}

/** A queue whose counts are the given numbers, read as BullMQ's getJobCounts answers them. */
const queue = (name: string, counts: Record<string, number>): QueueCounts & { asked: QueueState[][] } => {
  const asked: QueueState[][] = [];
  return {
    name,
    asked,
    getJobCounts: async (...types) => {
      asked.push(types);
      return Object.fromEntries(types.map((t) => [t, counts[t] ?? 0]));
    },
  };
};

describe(WorkerMetrics.name, () => {
  it('worker_queue_jobs: the depth of each queue by state, read when scraped', async () => {
    const exportsQueue = queue('exports', { waiting: 3, active: 1, delayed: 2, failed: 5 });
    const metrics = new WorkerMetrics([exportsQueue, queue('snapshots', { waiting: 40 })]);
    expect(exportsQueue.asked).toEqual([]);
    expect(await sample(metrics, 'worker_queue_jobs', { queue: 'exports', state: 'waiting', app: 'worker' })).toBe(3);
    expect(exportsQueue.asked[0]).toEqual(['waiting', 'active', 'delayed', 'failed']);
    expect(await sample(metrics, 'worker_queue_jobs', { queue: 'exports', state: 'delayed' })).toBe(2);
    expect(await sample(metrics, 'worker_queue_jobs', { queue: 'exports', state: 'failed' })).toBe(5);
    expect(await sample(metrics, 'worker_queue_jobs', { queue: 'snapshots', state: 'waiting' })).toBe(40);
    expect(await sample(metrics, 'worker_queue_jobs', { queue: 'snapshots', state: 'active' })).toBe(0);
  });

  it('answers the scrape within the deadline when a queue does not, leaving its depth out and counting the error', async () => {
    const hanging: QueueCounts = { name: 'exports', getJobCounts: () => new Promise(() => undefined) };
    const failing: QueueCounts = { name: 'snapshots', getJobCounts: () => Promise.reject(new Error('ECONNREFUSED')) };
    const metrics = new WorkerMetrics([hanging, failing, queue('other', { waiting: 1 })], 50);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^worker_queue_depth_errors_total\{[^}]*queue="exports"[^}]*\} 1$/m);
    expect(text).not.toMatch(/^worker_queue_jobs\{[^}]*queue="(exports|snapshots)"/m);
    expect(await sample(metrics, 'worker_queue_jobs', { queue: 'other', state: 'waiting' })).toBe(1);
    // Counted in the scrape that missed it: the text above was the first scrape, this is the third.
    expect(await sample(metrics, 'worker_queue_depth_errors_total', { queue: 'exports' })).toBe(3);
    expect(await sample(metrics, 'worker_queue_depth_errors_total', { queue: 'snapshots' })).toBe(4);
    expect(await sample(metrics, 'worker_queue_depth_errors_total', { queue: 'other' })).toBe(0);
  });

  it('forgets a depth that can no longer be read, rather than repeating a stale one', async () => {
    let up = true;
    const flaky: QueueCounts = { name: 'exports', getJobCounts: async () => (up ? { waiting: 7 } : Promise.reject(new Error('down'))) };
    const metrics = new WorkerMetrics([flaky], 50);
    expect(await sample(metrics, 'worker_queue_jobs', { queue: 'exports', state: 'waiting' })).toBe(7);
    up = false;
    expect(await sample(metrics, 'worker_queue_jobs', { queue: 'exports', state: 'waiting' })).toBeUndefined();
  });

  it('worker_jobs_total and worker_job_duration_seconds: job outcomes by queue, job name and outcome', async () => {
    const metrics = new WorkerMetrics([]);
    metrics.jobSettled('exports', { name: 'export', processedOn: 1_000, finishedOn: 3_500 }, 'completed');
    metrics.jobSettled('snapshots', { name: 'snapshot', processedOn: 1_000, finishedOn: 1_020 }, 'completed');
    metrics.jobSettled('snapshots', { name: 'snapshot', processedOn: 1_000 }, 'failed');
    metrics.jobSettled('snapshots', undefined, 'failed');
    expect(await sample(metrics, 'worker_jobs_total', { queue: 'exports', job: 'export', outcome: 'completed' })).toBe(1);
    expect(await sample(metrics, 'worker_jobs_total', { queue: 'snapshots', job: 'snapshot', outcome: 'failed' })).toBe(1);
    expect(await sample(metrics, 'worker_jobs_total', { queue: 'snapshots', job: 'unknown', outcome: 'failed' })).toBe(1);
    expect(await sample(metrics, 'worker_job_duration_seconds_sum', { queue: 'exports', outcome: 'completed' })).toBeCloseTo(2.5, 6);
    expect(await sample(metrics, 'worker_job_duration_seconds_bucket', { queue: 'snapshots', outcome: 'completed', le: '0.05' })).toBe(1);
    // A failed attempt without a finish time is counted, not timed.
    expect(await sample(metrics, 'worker_job_duration_seconds_count', { queue: 'snapshots', job: 'snapshot', outcome: 'failed' })).toBeUndefined();
  });
});
