import type { Database } from './database';

/**
 * Why this exists: the search index on `room_messages` is a GIN index with `fastupdate` (new
 * entries go to a pending list, which is what keeps the append statement cheap: measured 6x
 * slower per statement without it). But whichever insert finds that list over
 * `gin_pending_list_limit` (4 MB) merges the whole list into the index itself, inside the
 * append statement: one group commit in every ~9,000 messages took 60-150 ms instead of 2 ms,
 * and every room in it waited (BENCHMARKS.md, "GIN pending list"). Merging the list from outside
 * the commit path, often enough that no insert ever finds it full, moves that work off it.
 */
const CLEAN_SQL = `SELECT CASE WHEN pg_try_advisory_xact_lock($1) THEN gin_clean_pending_list('room_messages_search_idx'::regclass) END AS pages`;

/**
 * Advisory lock key (an arbitrary constant, 'search-gin' in ASCII): only one session merges at a
 * time. A second caller would otherwise queue on the index's cleanup lock and hold a pooled
 * connection for nothing; with the lock it is told `null` at once and tries again next time.
 */
export const SEARCH_INDEX_CLEAN_LOCK = 0x7365617263682d67n;

export class SearchIndexMaintenance {
  constructor(private readonly db: Database) {}

  /**
   * Merges the search index's pending list into the index. Returns the number of pending pages
   * it merged (0 when there were none), or `null` when another session holds the merge.
   */
  async cleanPendingList(): Promise<number | null> {
    const { rows } = await this.db.pool.query<{ pages: string | null }>(CLEAN_SQL, [SEARCH_INDEX_CLEAN_LOCK.toString()]);
    const pages = rows[0]?.pages;
    return pages === null || pages === undefined ? null : Number(pages);
  }
}
