import { type Job, Queue, Worker } from 'bullmq';
import { bullConnection } from '../../../../libs/jobs/src';
import { WorkerMetrics } from './worker.metrics';

/**
 * The worker's metrics against a real BullMQ queue in Redis: the depth as BullMQ counts it, and
 * job outcomes fed from a real Worker's `completed` / `failed` events, wired as
 * WorkerMetricsServer wires them.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/1';
const QUEUE = `metrics-int-${process.pid}`;

async function sample(metrics: WorkerMetrics, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await metrics.registry.metrics();
  for (const match of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    if (Object.entries(labels).every(([k, v]) => match[1]!.includes(`${k}="${v}"`))) return Number(match[2]);
  }
  return undefined;
}

describe(`${WorkerMetrics.name} with BullMQ`, () => {
  let queue: Queue;
  let worker: Worker | undefined;

  beforeAll(() => {
    queue = new Queue(QUEUE, { connection: bullConnection(REDIS_URL) });
  });

  afterAll(async () => {
    await worker?.close();
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it('reports the waiting and delayed jobs, then the completed and failed ones', async () => {
    const metrics = new WorkerMetrics([queue]);
    await queue.add('work', { ok: true });
    await queue.add('work', { ok: false }, { attempts: 1 });
    await queue.add('later', {}, { delay: 60_000 });
    expect(await sample(metrics, 'worker_queue_jobs', { queue: QUEUE, state: 'waiting' })).toBe(2);
    expect(await sample(metrics, 'worker_queue_jobs', { queue: QUEUE, state: 'delayed' })).toBe(1);
    expect(await sample(metrics, 'worker_queue_jobs', { queue: QUEUE, state: 'failed' })).toBe(0);

    const settled = new Promise<void>((resolve) => {
      let left = 2;
      const done = () => --left === 0 && resolve();
      worker = new Worker(
        QUEUE,
        async (job: Job<{ ok: boolean }>) => {
          if (!job.data.ok) throw new Error('refused');
        },
        { connection: bullConnection(REDIS_URL) },
      );
      worker.on('completed', (job) => (metrics.jobSettled(QUEUE, job, 'completed'), done()));
      worker.on('failed', (job) => (metrics.jobSettled(QUEUE, job, 'failed'), done()));
    });
    await settled;
    expect(await sample(metrics, 'worker_jobs_total', { queue: QUEUE, job: 'work', outcome: 'completed' })).toBe(1);
    expect(await sample(metrics, 'worker_jobs_total', { queue: QUEUE, job: 'work', outcome: 'failed' })).toBe(1);
    expect(await sample(metrics, 'worker_job_duration_seconds_count', { queue: QUEUE, job: 'work', outcome: 'completed' })).toBe(1);
    expect(await sample(metrics, 'worker_queue_jobs', { queue: QUEUE, state: 'waiting' })).toBe(0);
    expect(await sample(metrics, 'worker_queue_jobs', { queue: QUEUE, state: 'failed' })).toBe(1);
  });
});
