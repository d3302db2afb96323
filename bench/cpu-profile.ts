/**
 * A CPU profile of a process through its inspector (`Profiler.start` / `Profiler.stop`), and its
 * heaviest functions by self time: where a gateway's loop goes when the soak shows delay. The
 * profile is the DevTools `.cpuprofile` format (open it in Chrome DevTools or speedscope).
 */
import type { InspectorClient } from '../test/support/inspector';
import { round, sleep } from './lib';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Samples the target for `ms` at a 1 ms interval. */
export async function profileFor(inspector: InspectorClient, ms: number): Promise<CpuProfile> {
  await inspector.call('Profiler.enable');
  await inspector.call('Profiler.setSamplingInterval', { interval: 1_000 });
  await inspector.call('Profiler.start');
  await sleep(ms);
  const { profile } = await inspector.call<{ profile: CpuProfile }>('Profiler.stop');
  await inspector.call('Profiler.disable');
  return profile;
}

export interface HotFunction {
  fn: string;
  where: string;
  selfPercent: number;
}

/** The `n` call sites with the most self samples (idle and GC included, as DevTools shows them). */
export function topSelfTime(profile: CpuProfile, n = 12): HotFunction[] {
  const total = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0) || 1;
  const bySite = new Map<string, number>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'}\t${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}`;
    bySite.set(key, (bySite.get(key) ?? 0) + (node.hitCount ?? 0));
  }
  return [...bySite]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, hits]) => {
      const [fn, where] = key.split('\t') as [string, string];
      return { fn, where, selfPercent: round((hits / total) * 100, 1) };
    });
}
