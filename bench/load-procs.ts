/**
 * The parent's side of bench/load-worker.ts: forks N load processes, hands each a round-robin
 * slice of the sockets to open, starts a job on all of them at once and merges what they report.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../test/support/processes';
import { roundRobin } from './compare';
import { distribution, round } from './lib';
import type { FromWorker, LoadJob, LoadTarget, ToWorker, WorkerResult } from './load-worker';

/** Every load process alive, so an aborted run can end them by PID. */
export const liveLoadProcs = new Set<ChildProcess>();

export function stopAllLoadProcs(): void {
  for (const child of liveLoadProcs) if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
  liveLoadProcs.clear();
}

class Worker {
  private readonly child: ChildProcess;
  private waiting: { resolve: (msg: FromWorker) => void; reject: (err: Error) => void } | undefined;
  private exited = false;

  constructor() {
    this.child = fork(join(ROOT, 'bench/load-worker.ts'), [], { cwd: ROOT, execArgv: ['-r', join(ROOT, 'bench/register.js')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    liveLoadProcs.add(this.child);
    this.child.on('message', (msg: FromWorker) => {
      const w = this.waiting;
      this.waiting = undefined;
      if (!w) return;
      if (msg.type === 'error') w.reject(new Error(`load process ${this.child.pid}: ${msg.message}`));
      else w.resolve(msg);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      liveLoadProcs.delete(this.child);
      this.waiting?.reject(new Error(`load process ${this.child.pid} exited (${code ?? signal}) before answering`));
      this.waiting = undefined;
    });
  }

  ask(msg: ToWorker): Promise<FromWorker> {
    if (this.exited) return Promise.reject(new Error(`load process ${this.child.pid} is gone`));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.child.send(msg);
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'close' } satisfies ToWorker);
    const timer = setTimeout(() => this.child.pid && this.child.exitCode === null && process.kill(this.child.pid, 'SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  }
}

export class LoadProcs {
  private constructor(
    private readonly workers: Worker[],
    readonly connectMs: number,
  ) {}

  /** Forks `procs` load processes (at most one per target) and connects every target. */
  static async start(targets: LoadTarget[], procs: number): Promise<LoadProcs> {
    const slices = roundRobin(targets, procs);
    const workers = slices.map(() => new Worker());
    try {
      const ready = await Promise.all(workers.map((w, i) => w.ask({ type: 'connect', targets: slices[i]! })));
      const connectMs = Math.max(...ready.map((r) => (r.type === 'ready' ? r.connectMs : 0)));
      return new LoadProcs(workers, connectMs);
    } catch (err) {
      await Promise.all(workers.map((w) => w.close().catch(() => undefined)));
      throw err;
    }
  }

  /** How many load processes there are (a rate is split between them). */
  get count(): number {
    return this.workers.length;
  }

  /** Starts `job` on every process at once; resolves with each one's result. */
  async run(job: LoadJob): Promise<WorkerResult[]> {
    const answers = await Promise.all(this.workers.map((w) => w.ask({ type: 'run', job })));
    return answers.map((a) => {
      if (a.type !== 'result') throw new Error(`load process answered ${a.type} to run`);
      return a.result;
    });
  }

  close(): Promise<void[]> {
    return Promise.all(this.workers.map((w) => w.close()));
  }
}

export interface MergedLoad {
  acksPerSec: number;
  latency: ReturnType<typeof distribution>;
  failed: number;
  errors: Record<string, number>;
  sent: number;
  acked: number;
  /** CPU of each load process during its window, % of one core. */
  clientCpuPercent: number[];
  /** Each load process's own event-loop delay p99 over its window (ms): see load-worker.ts. */
  clientLoopDelayP99Ms: number[];
  /** …and its longest single delay (ms): one 100 ms stall at 5,000 sends/s delays 2 % of them. */
  clientLoopDelayMaxMs: number[];
}

/** Closed- or open-loop results of several load processes as one run. */
export function mergeLoad(results: readonly WorkerResult[]): MergedLoad {
  const errors: Record<string, number> = {};
  let acks = 0;
  let sent = 0;
  let acked = 0;
  let windowMs = 0;
  const latencies: number[] = [];
  const cpu: number[] = [];
  const loopDelay: number[] = [];
  const loopDelayMax: number[] = [];
  for (const r of results) {
    if (r.kind === 'fanout') throw new Error('mergeLoad: a fan-out result');
    acks += r.acksInWindow;
    sent += r.sent;
    acked += r.acked;
    windowMs = Math.max(windowMs, r.windowMs);
    for (const l of r.latencies) latencies.push(l);
    cpu.push(r.clientCpuPercent);
    loopDelay.push(r.loopDelayP99Ms);
    loopDelayMax.push(r.loopDelayMaxMs);
    for (const [code, n] of Object.entries(r.errors)) errors[code] = (errors[code] ?? 0) + n;
  }
  return {
    acksPerSec: windowMs > 0 ? round(acks / (windowMs / 1000), 0) : NaN,
    latency: distribution(latencies),
    failed: Object.values(errors).reduce((s, n) => s + n, 0),
    errors,
    sent,
    acked,
    clientCpuPercent: cpu,
    clientLoopDelayP99Ms: loopDelay,
    clientLoopDelayMaxMs: loopDelayMax,
  };
}
