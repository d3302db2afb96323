import { z } from 'zod';
import { ConfigError } from '../../../libs/config/src';

/** Settings only the worker reads, on top of the shared AppConfig (libs/config). */
export interface WorkerConfig {
  /** How often the cold-room snapshot sweep runs, ms; 0 turns it off. Env COLD_SNAPSHOT_SWEEP_MS, default 30000. */
  coldSnapshotSweepMs: number;
}

const schema = z.object({
  COLD_SNAPSHOT_SWEEP_MS: z
    .string()
    .regex(/^\d+$/, 'COLD_SNAPSHOT_SWEEP_MS must be a whole number of milliseconds')
    .transform(Number)
    .refine((ms) => ms === 0 || (ms >= 1000 && ms <= 86_400_000), 'COLD_SNAPSHOT_SWEEP_MS must be 0 (off) or 1000 to 86400000')
    .default(30_000),
});

/** Validates the worker's own variables; throws a ConfigError whose message is one line. */
export function parseWorkerConfig(env: Record<string, string | undefined>): WorkerConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([k, v]) => k in schema.shape && v !== undefined && v !== ''));
  const result = schema.safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(`invalid configuration: ${String(issue.path[0] ?? 'environment')}: ${issue.message}`);
  }
  return { coldSnapshotSweepMs: result.data.COLD_SNAPSHOT_SWEEP_MS };
}

/** Reads process.env once; on a bad variable prints one line and exits 1 (like loadConfigOrExit). */
export function loadWorkerConfigOrExit(): WorkerConfig {
  try {
    return parseWorkerConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
