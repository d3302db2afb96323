/**
 * CPU used by the machine's Postgres server processes (postmaster, backends, WAL writer,
 * checkpointer...) and by one process, read from /proc. The bench runs Postgres on the same 2
 * cores as the gateway and the load process, so "where the CPU goes per acknowledged message"
 * needs Postgres' share beside the gateway's. Linux only: elsewhere the meters report NaN.
 */
import { allProcStats, CLOCK_TICKS_PER_SECOND, procStat } from '../test/support/proc-stat';

/** Starts a window; the function returned gives the CPU used since, in % of one core. */
function cpuMeter(readSeconds: () => number): () => number {
  const start = readSeconds();
  const startedAt = performance.now();
  return () => {
    const seconds = (performance.now() - startedAt) / 1000;
    return seconds > 0 ? Math.round(((readSeconds() - start) / seconds) * 100) : NaN;
  };
}

/**
 * CPU of the Postgres server over a window, in % of one core: per process, what it used since the
 * window began (all of it for a backend that started since). A backend that exits inside the
 * window takes its share with it, so this is a floor; summing whole totals instead would count
 * an exit as negative CPU.
 */
export function postgresCpuMeter(): () => number {
  const postgres = () => new Map(allProcStats().filter((p) => p.comm === 'postgres').map((p) => [p.pid, p.cpuTicks]));
  const start = postgres();
  if (start.size === 0) return () => NaN;
  const startedAt = performance.now();
  return () => {
    const seconds = (performance.now() - startedAt) / 1000;
    let ticks = 0;
    for (const [pid, total] of postgres()) ticks += total - (start.get(pid) ?? 0);
    return seconds > 0 ? Math.round((ticks / CLOCK_TICKS_PER_SECOND / seconds) * 100) : NaN;
  };
}

/** CPU of one process over a window, in % of one core. */
export const processCpuMeter = (pid: number) => cpuMeter(() => (procStat(pid)?.cpuTicks ?? NaN) / CLOCK_TICKS_PER_SECOND);
