/**
 * "My rooms" as pages of `GET /rooms` (no DOM): the first page, "Load more" with the `next`
 * cursor, and a periodic refresh that re-reads as many pages as the user has loaded, so that
 * unread counts and the activity order stay current without dropping what "Load more" showed.
 */
import type { RoomListEntry } from '../api';

export interface RoomsPage {
  rooms: RoomListEntry[];
  next: string | null;
}

/** Reads one page: the first without a cursor, the following ones with the last `next`. */
export type FetchRoomsPage = (before: string | null) => Promise<RoomsPage>;

/**
 * Joins pages in order, keeping each room once at its first place: between two requests a room
 * with new activity moves to an earlier page and may be read twice.
 */
export function mergeRoomPages(pages: readonly (readonly RoomListEntry[])[]): RoomListEntry[] {
  const seen = new Set<string>();
  const rooms: RoomListEntry[] = [];
  for (const page of pages) {
    for (const room of page) {
      if (seen.has(room.id)) continue;
      seen.add(room.id);
      rooms.push(room);
    }
  }
  return rooms;
}

export interface RoomsSnapshot {
  rooms: readonly RoomListEntry[];
  /** More rooms exist after the shown ones ("Load more" is offered). */
  hasMore: boolean;
}

/**
 * The list's state. Operations run one after another (a refresh never interleaves with a "Load
 * more", so neither undoes the other); a refresh asked for while another is still waiting to
 * run (with nothing queued between them) is that refresh, so a slow server does not pile them up.
 */
export class RoomsModel {
  private rooms: RoomListEntry[] = [];
  private next: string | null = null;
  private pagesLoaded = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private waitingRefresh: Promise<RoomsSnapshot> | null = null;

  constructor(private readonly fetchPage: FetchRoomsPage) {}

  get snapshot(): RoomsSnapshot {
    return { rooms: this.rooms, hasMore: this.next !== null };
  }

  /** Re-reads the first page, and as many following ones as were loaded (at least one). */
  refresh(): Promise<RoomsSnapshot> {
    if (this.waitingRefresh) return this.waitingRefresh;
    const refresh = this.serially(async () => {
      this.waitingRefresh = null;
      const want = Math.max(1, this.pagesLoaded);
      const pages: RoomListEntry[][] = [];
      let before: string | null = null;
      for (let i = 0; i < want; i++) {
        const page = await this.fetchPage(before);
        pages.push(page.rooms);
        before = page.next;
        if (before === null) break;
      }
      this.rooms = mergeRoomPages(pages);
      this.next = before;
      this.pagesLoaded = pages.length;
      return this.snapshot;
    });
    this.waitingRefresh = refresh;
    return refresh;
  }

  /** Appends the page after the shown ones; nothing to do when there is none. */
  loadMore(): Promise<RoomsSnapshot> {
    this.waitingRefresh = null; // a refresh asked for after this must see its page
    return this.serially(async () => {
      if (this.next === null) return this.snapshot;
      const page = await this.fetchPage(this.next);
      this.rooms = mergeRoomPages([this.rooms, page.rooms]);
      this.next = page.next;
      this.pagesLoaded += 1;
      return this.snapshot;
    });
  }

  private serially<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
