/**
 * The pure arithmetic of the comparison bench (bench/compare-main.ts): the A B A B order of the
 * runs, medians over repetitions, our figure ÷ the peer's, and the verdict against a target.
 * No I/O here, so test/bench-compare.spec.ts can check every piece.
 */

export type Side = 'ours' | 'peer';

/**
 * The order of `reps` repetitions of both sides, alternating (A B A B ...), so a slow phase of
 * the shared machine falls on both sides rather than on one. `first` starts every pair.
 */
export function alternation(reps: number, first: Side = 'ours'): Side[] {
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`repetitions must be a positive integer, got ${reps}`);
  const second: Side = first === 'ours' ? 'peer' : 'ours';
  return Array.from({ length: reps * 2 }, (_, i) => (i % 2 === 0 ? first : second));
}

/** The median of the finite values (mean of the middle two when even); NaN when none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Our figure ÷ the peer's; NaN when either is missing or the peer's is 0. */
export function ratio(ours: number, peer: number): number {
  if (!Number.isFinite(ours) || !Number.isFinite(peer) || peer === 0) return NaN;
  return ours / peer;
}

export interface Target {
  /** `min`: the value must be at least `bound`; `max`: at most. */
  kind: 'min' | 'max';
  bound: number;
}

export type Verdict = 'met' | 'NOT MET' | 'n/a';

export function verdict(value: number, target: Target | undefined): Verdict {
  if (!target || !Number.isFinite(value)) return 'n/a';
  return (target.kind === 'min' ? value >= target.bound : value <= target.bound) ? 'met' : 'NOT MET';
}

export function describeTarget(target: Target): string {
  return `${target.kind === 'min' ? '>=' : '<='} ${target.bound}`;
}

/** One metric of one repetition of one side. */
export interface Sample {
  side: Side;
  rep: number;
  metrics: Record<string, number>;
}

export interface Compared {
  metric: string;
  ours: number;
  peer: number;
  ratio: number;
  oursRuns: number[];
  peerRuns: number[];
}

/** For each metric: each side's median over its repetitions, and ours ÷ peer of the medians. */
export function compare(samples: readonly Sample[], metrics: readonly string[]): Compared[] {
  return metrics.map((metric) => {
    const runs = (side: Side) => samples.filter((s) => s.side === side).map((s) => s.metrics[metric] ?? NaN);
    const oursRuns = runs('ours');
    const peerRuns = runs('peer');
    const ours = median(oursRuns);
    const peer = median(peerRuns);
    return { metric, ours, peer, ratio: ratio(ours, peer), oursRuns, peerRuns };
  });
}

/** Splits `items` over `n` buckets round robin (so each load process gets a slice of every room). */
export function roundRobin<T>(items: readonly T[], n: number): T[][] {
  const buckets = Array.from({ length: Math.max(1, n) }, () => [] as T[]);
  items.forEach((item, i) => buckets[i % buckets.length]!.push(item));
  return buckets.filter((b) => b.length > 0);
}
