/**
 * The comparison bench's pure pieces (issue 9): A B alternation, medians, ours ÷ peer, verdicts,
 * the split of sockets over load processes, the open-loop schedule, the merge of load results
 * and the command line. No timing is asserted: these are the numbers the bench reports with.
 */
import { alternation, compare, median, ratio, roundRobin, verdict } from '../bench/compare';
import { parseCompareArgs } from '../bench/compare-main';
import { benchText, bucketQuantile, dueSends, histogramFrom, loopDelayFrom } from '../bench/lib';
import { mergeLoad } from '../bench/load-procs';
import type { WorkerResult } from '../bench/load-worker';

describe('bench compare: arithmetic', () => {
  it('alternates the two sides A B A B, starting with the side asked for', () => {
    expect(alternation(3)).toEqual(['ours', 'peer', 'ours', 'peer', 'ours', 'peer']);
    expect(alternation(2, 'peer')).toEqual(['peer', 'ours', 'peer', 'ours']);
    expect(() => alternation(0)).toThrow(/positive integer/);
    expect(() => alternation(1.5)).toThrow(/positive integer/);
  });

  it('takes the median of odd and even counts and ignores what is not a number', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7, NaN, Infinity, 1, 4])).toBe(4);
    expect(median([])).toBeNaN();
  });

  it('divides ours by the peer and refuses a zero or missing denominator', () => {
    expect(ratio(4_000, 8_000)).toBe(0.5);
    expect(ratio(30, 20)).toBe(1.5);
    expect(ratio(1, 0)).toBeNaN();
    expect(ratio(NaN, 2)).toBeNaN();
  });

  it('judges a value against a minimum or a maximum, inclusive', () => {
    expect(verdict(0.8, { kind: 'min', bound: 0.8 })).toBe('met');
    expect(verdict(0.79, { kind: 'min', bound: 0.8 })).toBe('NOT MET');
    expect(verdict(1.5, { kind: 'max', bound: 1.5 })).toBe('met');
    expect(verdict(1.51, { kind: 'max', bound: 1.5 })).toBe('NOT MET');
    expect(verdict(NaN, { kind: 'max', bound: 1 })).toBe('n/a');
    expect(verdict(3, undefined)).toBe('n/a');
  });

  it('compares the medians of each side per metric, keeping every run', () => {
    const samples = [
      { side: 'ours' as const, rep: 1, metrics: { rate: 100, p99: 30 } },
      { side: 'peer' as const, rep: 1, metrics: { rate: 200, p99: 10 } },
      { side: 'ours' as const, rep: 2, metrics: { rate: 300, p99: 50 } },
      { side: 'peer' as const, rep: 2, metrics: { rate: 180, p99: 40 } },
      { side: 'ours' as const, rep: 3, metrics: { rate: 120, p99: 20 } },
      { side: 'peer' as const, rep: 3, metrics: { rate: 240, p99: 20 } },
    ];
    const [rate, p99] = compare(samples, ['rate', 'p99']);
    expect(rate).toEqual({ metric: 'rate', ours: 120, peer: 200, ratio: 0.6, oursRuns: [100, 300, 120], peerRuns: [200, 180, 240] });
    expect(p99!.ours).toBe(30);
    expect(p99!.peer).toBe(20);
    expect(p99!.ratio).toBe(1.5);
  });

  it('splits sockets round robin over the load processes, never leaving one empty', () => {
    expect(roundRobin([1, 2, 3, 4, 5], 2)).toEqual([[1, 3, 5], [2, 4]]);
    expect(roundRobin([1, 2], 4)).toEqual([[1], [2]]);
    expect(roundRobin([1, 2, 3], 0)).toEqual([[1, 2, 3]]);
  });

  it('has an open-loop schedule that is due at the rate asked for, whatever came back', () => {
    expect(dueSends(0, 1000)).toBe(0);
    expect(dueSends(1, 1000)).toBe(1);
    expect(dueSends(999, 2)).toBe(1);
    expect(dueSends(5_000, 4_000)).toBe(20_000);
    expect(dueSends(-5, 100)).toBe(0);
    expect(dueSends(100, 0)).toBe(0);
  });

  it('merges the load processes of one run: acks summed, latencies pooled, errors counted as failed sends', () => {
    const a: WorkerResult = { kind: 'closed', windowMs: 2_000, acksInWindow: 1_000, latencies: [1, 2, 3], sent: 1_010, acked: 1_005, errors: { timeout: 2 }, clientCpuPercent: 40, loopDelayP99Ms: 3, loopDelayMaxMs: 9 };
    const b: WorkerResult = { kind: 'closed', windowMs: 2_000, acksInWindow: 600, latencies: [4, 100], sent: 610, acked: 605, errors: { timeout: 1, invalid: 3 }, clientCpuPercent: 55, loopDelayP99Ms: 40, loopDelayMaxMs: 80 };
    const merged = mergeLoad([a, b]);
    expect(merged.acksPerSec).toBe(800);
    expect(merged.latency.n).toBe(5);
    expect(merged.latency.p50).toBe(3);
    expect(merged.latency.max).toBe(100);
    expect(merged.errors).toEqual({ timeout: 3, invalid: 3 });
    expect(merged.failed).toBe(6);
    expect(merged.clientCpuPercent).toEqual([40, 55]);
    expect(merged.clientLoopDelayP99Ms).toEqual([3, 40]);
    expect(merged.clientLoopDelayMaxMs).toEqual([9, 80]);
    expect(() => mergeLoad([{ kind: 'fanout', ackMs: [], lastDeliveryMs: [], recipients: 1, incomplete: 0 }])).toThrow(/fan-out/);
  });

  it('reads the command line and refuses fewer than 3 repetitions', () => {
    expect(parseCompareArgs([])).toEqual({ reps: 3, seconds: 5, loadProcs: 1, profile: false, only: [] });
    expect(parseCompareArgs(['--reps', '5', '--seconds', '2', '--load-procs', '2', 'throughput', 'fanout'])).toEqual({ reps: 5, seconds: 2, loadProcs: 2, profile: false, only: ['throughput', 'fanout'] });
    expect(() => parseCompareArgs(['--reps', '2'])).toThrow(/at least 3/);
    expect(() => parseCompareArgs(['--seconds', 'x'])).toThrow(/positive number/);
    expect(() => parseCompareArgs(['--bogus'])).toThrow(/unknown option/);
    expect(parseCompareArgs(['--snapshot-every-events', '10000000', 'throughput']).snapshotEveryEvents).toBe(10_000_000);
    expect(() => parseCompareArgs(['--snapshot-every-events', '0'])).toThrow(/positive number/);
  });
});

describe("bench compare: the gateway's histograms at half load", () => {
  /** A /metrics text with the send-ack histogram of two outcomes and the loop-delay gauge. */
  const metrics = (ok: number[], refused: number[], loop = { p50: 0.0012, p99: 0.0079 }) => {
    const bounds = ['0.005', '0.01', '0.025', '0.05', '+Inf'];
    const series = (outcome: string, counts: number[]) =>
      bounds.map((le, i) => `gateway_ack_duration_seconds_bucket{command="send",outcome="${outcome}",le="${le}"} ${counts[i]}`).join('\n');
    return [
      '# TYPE gateway_ack_duration_seconds histogram',
      series('ok', ok),
      series('rate_limited', refused),
      'gateway_ack_duration_seconds_bucket{command="join",outcome="ok",le="0.005"} 99',
      `gateway_event_loop_delay_seconds{quantile="0.5"} ${loop.p50}`,
      `gateway_event_loop_delay_seconds{quantile="0.99"} ${loop.p99}`,
    ].join('\n');
  };

  it('sums the series of the asked labels, bucket by bucket', () => {
    const h = histogramFrom(metrics([10, 20, 30, 40, 40], [1, 1, 1, 1, 2]), 'gateway_ack_duration_seconds', ['command="send"']);
    expect([...h]).toEqual([['0.005', 11], ['0.01', 21], ['0.025', 31], ['0.05', 41], ['+Inf', 42]]);
    expect(histogramFrom(metrics([0, 0, 0, 0, 0], [0, 0, 0, 0, 0]), 'gateway_ack_duration_seconds', ['command="join"']).get('0.005')).toBe(99);
  });

  it('gives the bound of the first bucket that holds the quantile of the observations between two scrapes', () => {
    const before = histogramFrom(metrics([100, 100, 100, 100, 100], [0, 0, 0, 0, 0]), 'gateway_ack_duration_seconds');
    // 1,000 more: 980 within 5 ms, 10 more within 10 ms, 8 within 25 ms, 2 within 50 ms.
    const after = histogramFrom(metrics([1_080, 1_090, 1_098, 1_100, 1_100], [0, 0, 0, 0, 0]), 'gateway_ack_duration_seconds');
    expect(bucketQuantile(before, after, 0.5)).toEqual({ n: 1_000, atMostMs: 5 });
    expect(bucketQuantile(before, after, 0.99)).toEqual({ n: 1_000, atMostMs: 10 });
    expect(bucketQuantile(before, after, 0.995)).toEqual({ n: 1_000, atMostMs: 25 });
    expect(bucketQuantile(before, after, 0.999)).toEqual({ n: 1_000, atMostMs: 50 });
    const slow = histogramFrom(metrics([1_080, 1_090, 1_098, 1_098, 1_110], [0, 0, 0, 0, 0]), 'gateway_ack_duration_seconds');
    expect(bucketQuantile(before, slow, 0.999)).toEqual({ n: 1_010, atMostMs: Infinity });
  });

  it('reads the loop delay quantiles in ms, and says so when the gauge is missing', () => {
    expect(loopDelayFrom(metrics([], []))).toEqual({ p50: 1.2, p99: 7.9 });
    expect(() => loopDelayFrom('nothing here')).toThrow(/gateway_event_loop_delay_seconds/);
  });
});

describe('bench compare: message text', () => {
  it('is words, as a chat message is, so the search index pays for each of them', () => {
    for (const length of [100, 120, 4_000]) {
      const text = benchText(length);
      expect(text).toHaveLength(length);
      expect(text.split(' ').length).toBeGreaterThanOrEqual(Math.floor(length / 8));
    }
    expect(benchText(120).startsWith('bench message lorem ipsum')).toBe(true);
  });
});
