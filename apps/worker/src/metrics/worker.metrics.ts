import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createMetricsRegistry } from '../../../../libs/runtime/src/metrics';

/** Job states whose counts are the queue's depth (`worker_queue_jobs{state}`). */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** What the depth gauge needs of a BullMQ `Queue`. */
export interface QueueCounts {
  readonly name: string;
  getJobCounts(...types: QueueState[]): Promise<Record<string, number>>;
}

/** What the job counters need of a finished BullMQ `Job`. */
export interface SettledJob {
  name: string;
  processedOn?: number;
  finishedOn?: number;
}

export type JobOutcome = 'completed' | 'failed';

/**
 * How long a scrape waits for each queue's counts, ms. With Redis slow or unreachable the
 * scrape must still answer (Prometheus times out after 10 s by default, and the other series
 * are worth having): the queue's depth series are left out and the error is counted.
 */
export const QUEUE_DEPTH_DEADLINE_MS = 1_000;

/** Job durations, seconds: a cold-room snapshot takes tens of ms, an export of a big room minutes. */
const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900];

/**
 * The worker's metrics: default process metrics, queue depth by queue and state (read from
 * Redis at scrape time, with a deadline), and job outcomes and durations by queue and job name
 * (fed by the BullMQ workers' `completed` and `failed` events; a failed attempt that will be
 * retried counts as failed too).
 */
export class WorkerMetrics {
  readonly registry: Registry;
  private readonly jobs: Counter<'queue' | 'job' | 'outcome'>;
  private readonly jobSeconds: Histogram<'queue' | 'job' | 'outcome'>;

  constructor(queues: readonly QueueCounts[], deadlineMs: number = QUEUE_DEPTH_DEADLINE_MS) {
    const registry = createMetricsRegistry({ app: 'worker' });
    this.registry = registry;
    // One read of every queue per scrape, shared by the depth gauge and the error counter so that
    // both describe the same scrape (prom-client collects the metrics of a scrape concurrently).
    let reading: Promise<Array<Record<string, number> | undefined>> | undefined;
    const readDepths = () =>
      (reading ??= Promise.all(queues.map((queue) => withinDeadline(queue.getJobCounts(...QUEUE_STATES), deadlineMs))).finally(() => {
        reading = undefined;
      }));
    new Gauge({
      name: 'worker_queue_jobs',
      help: 'Jobs in each queue by state (waiting, active, delayed, failed), read from Redis when scraped',
      labelNames: ['queue', 'state'],
      registers: [registry],
      async collect() {
        const depths = await readDepths();
        this.reset();
        queues.forEach((queue, i) => {
          const counts = depths[i];
          if (counts) for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
        });
      },
    });
    const depthErrors = new Counter({
      name: 'worker_queue_depth_errors_total',
      help: "Scrapes that could not read a queue's job counts from Redis in time (its worker_queue_jobs series are then absent)",
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        const depths = await readDepths();
        queues.forEach((queue, i) => {
          if (!depths[i]) this.inc({ queue: queue.name });
        });
      },
    });
    for (const queue of queues) depthErrors.inc({ queue: queue.name }, 0);
    this.jobs = new Counter({
      name: 'worker_jobs_total',
      help: 'Jobs (attempts) finished by this worker, by queue, job name and outcome (completed, failed)',
      labelNames: ['queue', 'job', 'outcome'],
      registers: [registry],
    });
    this.jobSeconds = new Histogram({
      name: 'worker_job_duration_seconds',
      help: 'Time a job attempt ran on this worker, by queue, job name and outcome',
      labelNames: ['queue', 'job', 'outcome'],
      buckets: JOB_BUCKETS,
      registers: [registry],
    });
  }

  /** A worker's `completed` or `failed` event for `job` of `queue`. */
  jobSettled(queue: string, job: SettledJob | undefined, outcome: JobOutcome): void {
    const labels = { queue, job: job?.name ?? 'unknown', outcome };
    this.jobs.inc(labels);
    if (job?.processedOn && job.finishedOn) this.jobSeconds.observe(labels, Math.max(0, job.finishedOn - job.processedOn) / 1000);
  }
}

/** The value of `promise` if it resolves within `ms`; undefined when it rejects or is late. */
async function withinDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}
