import { Logger } from '@nestjs/common';

/** How often the pending list is merged while messages are written, ms. */
export const SEARCH_INDEX_CLEAN_MS = 250;
/** At most one warning about failed merges this often, ms (a database outage fails every tick). */
const WARN_EVERY_MS = 60_000;

export interface SearchIndexCleanerPorts {
  /** Merges the pending list; `null` when another session is merging it (SearchIndexMaintenance). */
  cleanPendingList(): Promise<number | null>;
  /** A number that grows with every event this gateway committed (GroupCommitWriter stats). */
  eventsWritten(): number;
}

export interface CleanerStats {
  /** Merges that ran here, pending pages they merged, ticks skipped as another session merged. */
  runs: number;
  pages: number;
  busy: number;
  failures: number;
}

/**
 * Keeps the message search index's pending list short, from outside the group commit, so no
 * append statement ever has to merge a full list itself (SearchIndexMaintenance says why). Runs
 * every SEARCH_INDEX_CLEAN_MS while this gateway is writing and does nothing while it is not; at
 * most one merge of this gateway is in flight, and across gateways one session merges at a time.
 * A failed merge is only a missed chance: the index stays correct (searches read the pending
 * list too), and an insert would merge a full list as before.
 */
export class SearchIndexCleaner {
  private readonly logger = new Logger(SearchIndexCleaner.name);
  private timer: NodeJS.Timeout | undefined;
  /** The merge in flight, if any (awaited by `stop`, so the pool is not closed under it). */
  private current: Promise<void> | undefined;
  private writtenAtLastRun = 0;
  private lastWarnAt = -Infinity;
  readonly stats: CleanerStats = { runs: 0, pages: 0, busy: 0, failures: 0 };

  constructor(private readonly ports: SearchIndexCleanerPorts) {}

  start(): void {
    this.writtenAtLastRun = this.ports.eventsWritten();
    this.timer = setInterval(() => void this.tick(), SEARCH_INDEX_CLEAN_MS);
    this.timer.unref();
  }

  /** Stops the turns; resolves once a merge in flight has ended. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.current;
  }

  /** One turn: merges if anything was written since the last merge here and none is running. */
  async tick(): Promise<void> {
    if (this.current) return;
    const written = this.ports.eventsWritten();
    if (written === this.writtenAtLastRun) return;
    this.current = this.merge(written);
    try {
      await this.current;
    } finally {
      this.current = undefined;
    }
  }

  private async merge(written: number): Promise<void> {
    try {
      const pages = await this.ports.cleanPendingList();
      if (pages === null) {
        // Another gateway is merging: what this one wrote is in the list it is merging or will
        // be merged by the next turn here, so the counter is left as it was.
        this.stats.busy += 1;
        return;
      }
      this.writtenAtLastRun = written;
      this.stats.runs += 1;
      this.stats.pages += pages;
    } catch (err) {
      this.stats.failures += 1;
      const now = Date.now();
      if (now - this.lastWarnAt >= WARN_EVERY_MS) {
        this.lastWarnAt = now;
        this.logger.warn(`search index: merging the pending list failed (${(err as Error).message}); inserts will merge it when full`);
      }
    }
  }
}
