import { backoffDelay } from './backoff.js';

describe(backoffDelay.name, () => {
  it('doubles from the base and stays within [step/2, step]', () => {
    const low = (n: number) => backoffDelay(n, { baseMs: 100, maxMs: 10_000, random: () => 0 });
    const high = (n: number) => backoffDelay(n, { baseMs: 100, maxMs: 10_000, random: () => 0.999999 });
    expect([1, 2, 3, 4].map(low)).toEqual([50, 100, 200, 400]);
    expect([1, 2, 3, 4].map(high)).toEqual([100, 200, 400, 800]);
  });

  it('never exceeds the cap, however many attempts (bounded)', () => {
    for (const attempt of [8, 9, 20, 1_000, Number.MAX_SAFE_INTEGER]) {
      const d = backoffDelay(attempt, { baseMs: 100, maxMs: 5_000, random: () => 0.999999 });
      expect(d).toBeLessThanOrEqual(5_000);
      expect(d).toBeGreaterThanOrEqual(2_500);
    }
  });

  it('is jittered: many clients retrying together spread out', () => {
    const delays = new Set(Array.from({ length: 200 }, () => backoffDelay(5, { baseMs: 100, maxMs: 5_000 })));
    expect(delays.size).toBeGreaterThan(50);
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(800);
      expect(d).toBeLessThanOrEqual(1_600);
    }
  });

  it('treats nonsense attempts as the first retry and a cap below the base as the base', () => {
    expect(backoffDelay(0, { baseMs: 100, random: () => 0 })).toBe(50);
    expect(backoffDelay(-3, { baseMs: 100, random: () => 0 })).toBe(50);
    expect(backoffDelay(4, { baseMs: 300, maxMs: 10, random: () => 0.999999 })).toBe(300);
  });
});
