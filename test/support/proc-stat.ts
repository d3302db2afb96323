/**
 * The fields of `/proc/<pid>/stat` that the tests and the bench read (Linux only), parsed in one
 * place: the command name may hold spaces and parentheses, so the fields are read after its last
 * ')'.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  /** The command name (at most 15 characters, e.g. `postgres`, `node`). */
  comm: string;
  ppid: number;
  /** User + system CPU time, in clock ticks (see `clockTicksPerSecond`). */
  cpuTicks: number;
}

/** Linux's USER_HZ: the unit of the CPU times in /proc, 100 on every mainstream kernel. */
export const CLOCK_TICKS_PER_SECOND = 100;

/** One process's stat, or undefined when it has gone (or off Linux). */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(')');
  // After "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
  const fields = text.slice(close + 2).split(' ');
  return { pid, comm: text.slice(text.indexOf('(') + 1, close), ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

/** The stat of every live process (those that end while listed are left out). */
export function allProcStats(): ProcStat[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const stats: ProcStat[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat) stats.push(stat);
  }
  return stats;
}
