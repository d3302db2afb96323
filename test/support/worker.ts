import { readFileSync } from 'node:fs';
import { ManagedProcess, waitFor } from './processes';

/**
 * Worker and CLI processes for end-to-end tests, started from dist/ with a stack's environment
 * (TestStack.env()) and ended by PID.
 */

/** Starts `dist/apps/worker/src/main.js` and resolves once it logged that it is ready. */
export async function startWorker(name: string, env: Record<string, string>): Promise<ManagedProcess> {
  const worker = ManagedProcess.start(name, 'dist/apps/worker/src/main.js', env);
  await waitFor(`${name} to be ready`, async () => {
    if (!worker.running) throw new Error(`${name} exited:\n${worker.logs()}`);
    return worker.logs().includes('worker ready');
  }, 30_000, 50);
  return worker;
}

/** Memory figures of a live process from /proc/<pid>/status, in KiB: VmHWM is the peak RSS. */
export function memoryOf(pid: number): { rssKb: number; peakRssKb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(match[1]);
  };
  return { rssKb: field('VmRSS'), peakRssKb: field('VmHWM') };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr, interleaved as printed. */
  output: string;
}

/** Runs `npm run cli -- <args>` (dist/apps/cli/src/main.js) to its end, killed after `timeoutMs`. */
export async function runCli(env: Record<string, string>, args: string[], timeoutMs = 120_000): Promise<CliResult> {
  const cli = ManagedProcess.start(`cli ${args[0] ?? ''}`, 'dist/apps/cli/src/main.js', env, args);
  // 'close' comes after the last output chunk, unlike 'exit'.
  const closed = new Promise((resolve) => cli.child.once('close', resolve));
  const timer = setTimeout(() => cli.signal('SIGKILL'), timeoutMs);
  const exit = await cli.exited;
  await closed;
  clearTimeout(timer);
  return { ...exit, output: cli.logs() };
}
