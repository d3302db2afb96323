/**
 * Reconnect backoff: exponential, capped, with "equal jitter" (half the step fixed, half random),
 * so a fleet of clients that lost the same gateway does not come back in lockstep, and no single
 * client ever waits longer than `maxMs`.
 */
export interface BackoffOptions {
  /** Delay before the first retry, ms. Default 100. */
  baseMs?: number;
  /** Upper bound of every delay, ms. Default 5000. */
  maxMs?: number;
  /** Source of randomness in [0, 1); injectable for tests. Default `Math.random`. */
  random?: () => number;
}

export const DEFAULT_BACKOFF = { baseMs: 100, maxMs: 5_000 } as const;

/**
 * Delay before retry number `attempt` (1 = the first retry), ms: a value in
 * `[step / 2, step]` where `step = min(maxMs, baseMs * 2^(attempt - 1))`.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const baseMs = Math.max(0, options.baseMs ?? DEFAULT_BACKOFF.baseMs);
  const maxMs = Math.max(baseMs, options.maxMs ?? DEFAULT_BACKOFF.maxMs);
  const random = options.random ?? Math.random;
  const n = Math.max(1, Math.floor(attempt));
  // 2^30 already exceeds any sane cap; clamping the exponent keeps the arithmetic finite.
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(n - 1, 30));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(step / 2 + (step / 2) * r);
}
