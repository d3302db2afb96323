/**
 * The run guard every bench entry point shares (bench/main.ts, soak-main.ts, fleet-main.ts): a
 * watchdog that stops everything when the run overstays, SIGINT/SIGTERM that stop the stacks
 * before exiting, and one exit path that always stops every process the run started.
 */
export interface EntryPoint {
  /** Prefix of its messages, e.g. `bench`. */
  name: string;
  /** The whole run must end within this, ms; otherwise everything is stopped and it fails. */
  maxMs: number;
  /** Stops every process the run started; safe to call more than once. */
  shutdown(): Promise<unknown>;
  /** What the run's processes printed, for a failure message. */
  logs(): string | undefined;
  /** The run itself; resolves with the exit code. */
  run(): Promise<number>;
}

export function runEntryPoint(entry: EntryPoint): void {
  const { name } = entry;
  const fail = (message: string): void => {
    console.error(`${name}: ${message}`);
    const logs = entry.logs();
    if (logs) console.error(logs);
  };
  const watchdog = setTimeout(() => {
    fail(`still running after ${Math.round((entry.maxMs / 60_000) * 10) / 10} min; stopping everything`);
    void entry.shutdown().finally(() => process.exit(1));
  }, entry.maxMs);
  watchdog.unref();
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      console.error(`${name}: ${signal}: stopping every process it started`);
      void entry.shutdown().finally(() => process.exit(code));
    });
  }
  entry
    .run()
    .then((code) => process.exit(code))
    .catch(async (err: unknown) => {
      fail(`FAILED: ${(err as Error).stack ?? String(err)}`);
      await entry.shutdown().catch(() => undefined);
      process.exit(1);
    });
}
