/**
 * Pure state of the in-room search (no DOM): the query being shown, its hits newest first, and
 * whether an older page may follow (`GET /rooms/:roomId/search?q=&limit=&before=`, CONTRACT.md
 * "HTTP API"). `before` is the seq of the oldest hit shown, so each page continues the last.
 */
import type { RoomSearchHit } from '../api';
import { checkSearchQuery, type InputProblem } from './lobby-model';

/** Hits a page: few enough for the narrow side panel, so "More results" matters. */
export const ROOM_SEARCH_LIMIT = 10;

/** The query to send (trimmed, 1–200 characters, storable), or a plain message of what is wrong. */
export function checkRoomSearchQuery(input: string): { q: string } | InputProblem {
  return checkSearchQuery(input);
}

/** The request path of one page of hits. */
export function roomSearchPath(roomId: string, q: string, before?: number, limit = ROOM_SEARCH_LIMIT): string {
  const query = new URLSearchParams({ q, limit: String(limit) });
  if (before !== undefined) query.set('before', String(before));
  return `/rooms/${encodeURIComponent(roomId)}/search?${query.toString()}`;
}

export class RoomSearchResults {
  private query: string | null = null;
  private shown: RoomSearchHit[] = [];
  private more = false;

  constructor(private readonly limit = ROOM_SEARCH_LIMIT) {}

  get q(): string | null {
    return this.query;
  }
  get hits(): readonly RoomSearchHit[] {
    return this.shown;
  }
  /** A full page came back last: an older one may follow. */
  get hasMore(): boolean {
    return this.more;
  }
  /** The `before` of the next page: the oldest hit shown. */
  get nextBefore(): number | undefined {
    return this.shown.length === 0 ? undefined : Math.min(...this.shown.map((hit) => hit.seq));
  }

  /** A new search: forgets the previous one's hits. */
  start(q: string): void {
    this.query = q;
    this.shown = [];
    this.more = false;
  }

  /**
   * Adds one page (newest first) and returns the hits it added. A page shorter than the limit is
   * the last; a hit already shown (the log changed between pages) is not shown twice.
   */
  addPage(page: readonly RoomSearchHit[]): RoomSearchHit[] {
    const seen = new Set(this.shown.map((hit) => hit.seq));
    const added = page.filter((hit) => !seen.has(hit.seq)).sort((a, b) => b.seq - a.seq);
    this.shown = [...this.shown, ...added].sort((a, b) => b.seq - a.seq);
    this.more = page.length >= this.limit && added.length > 0;
    return added;
  }

  /** The status line above the hits ("No matches" when there are none). */
  summary(): string {
    if (this.query === null) return '';
    const n = this.shown.length;
    if (n === 0) return `No matches for “${this.query}”`;
    const count = n === 1 ? '1 match' : `${n} matches`;
    return `${count}${this.more ? ' so far' : ''} for “${this.query}”, newest first`;
  }
}
