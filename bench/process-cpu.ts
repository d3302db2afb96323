/**
 * CPU used by the machine's Postgres server processes (postmaster, backends, WAL writer,
 * checkpointer...), read from /proc. The bench runs Postgres on the same 2 cores as the gateway
 * and the load process, so "where the CPU goes per acknowledged message" needs Postgres' share
 * beside the gateway's own `process_cpu_seconds_total`. Linux only: elsewhere it reports NaN.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100; // the Linux default (USER_HZ)
    }
  }
  return ticksPerSecond;
}

/**
 * User + system CPU seconds of every live process whose command name is `name`, by pid (empty
 * off Linux).
 */
export function cpuSecondsByPid(name: string): Map<number, number> {
  const byPid = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return byPid;
  }
  for (const entry of entries) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue; // exited between the listing and the read
    }
    // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
    const close = stat.lastIndexOf(')');
    if (stat.slice(stat.indexOf('(') + 1, close) !== name) continue;
    const fields = stat.slice(close + 2).split(' ');
    byPid.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / clockTicks()); // utime, stime
  }
  return byPid;
}

/** User + system CPU seconds of one process (NaN once it has gone, or off Linux). */
export function cpuSecondsOfPid(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return NaN;
  }
}

/** Starts a window; the function returned gives the CPU used since, in % of one core. */
export function cpuMeter(read: () => number): () => number {
  const start = read();
  const startedAt = performance.now();
  return () => {
    const seconds = (performance.now() - startedAt) / 1000;
    return seconds > 0 ? Math.round(((read() - start) / seconds) * 100) : NaN;
  };
}

/**
 * CPU of the Postgres server over a window, in % of one core: per process, what it used since the
 * window began (all of it for a backend that started since). A backend that exits inside the
 * window takes its share with it, so this is a floor; summing whole totals instead would count
 * an exit as negative CPU.
 */
export function postgresCpuMeter(): () => number {
  const start = cpuSecondsByPid('postgres');
  const startedAt = performance.now();
  return () => {
    const seconds = (performance.now() - startedAt) / 1000;
    let used = 0;
    for (const [pid, total] of cpuSecondsByPid('postgres')) used += total - (start.get(pid) ?? 0);
    return seconds > 0 ? Math.round((used / seconds) * 100) : NaN;
  };
}

/** CPU of one process over a window, in % of one core. */
export const processCpuMeter = (pid: number) => cpuMeter(() => cpuSecondsOfPid(pid));
