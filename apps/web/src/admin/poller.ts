/**
 * Runs an async task now and then again `intervalMs` after each run has finished, until
 * stopped. Runs never overlap (a slow API is not asked twice at once) and a stopped poller
 * starts no new run; a run already in flight finishes, so its caller must check whether it is
 * still wanted (the views check their own `stopped` flag). No DOM: unit-tested with fake timers.
 */
export class Poller {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private active = false;
  private inFlight = false;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly intervalMs: number,
  ) {}

  get running(): boolean {
    return this.active;
  }

  /** Starts polling (first run at once); a no-op while already running. */
  start(): void {
    if (this.active) return;
    this.active = true;
    if (!this.inFlight) void this.run();
  }

  stop(): void {
    this.active = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    this.inFlight = true;
    try {
      await this.task();
    } catch {
      // The task reports its own errors; polling goes on (the next run may succeed).
    } finally {
      this.inFlight = false;
    }
    if (this.active) this.timer = setTimeout(() => void this.run(), this.intervalMs);
  }
}
