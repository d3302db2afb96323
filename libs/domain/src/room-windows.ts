/**
 * The two bounded windows a room's folded state keeps in memory, laid out for a gateway that
 * holds hundreds of full rooms for weeks.
 *
 * Why not plain `Map<K, {…}>`s: V8's major GC marks every live object, so its pauses grow with
 * the number of objects, not bytes. A full room held about 20k of them in those Maps (an entry
 * object per message, and per dedup entry an entry object, an ISO timestamp string and a
 * concatenated key that kept both of its halves alive). A gateway with 500 full rooms then held
 * ~10M objects, and each major GC stalled acknowledgements for over 100 ms. Here a message entry
 * costs no object of its own (a Smi key and a shared author string), and a dedup entry costs one
 * flat string (its key); seqs and timestamps live in typed arrays, outside the GC's marking.
 * Measured with the same 500 × 5,500 sends (`node --expose-gc`): heap 914 → 642 MB, full-GC
 * pause roughly halved.
 *
 * Pure data structures: no I/O.
 */

/** Author and deletion state of one message. */
export interface MessageInfo {
  authorId: string | null;
  deleted: boolean;
}

/** Where a send was committed: the answer to repeat for a duplicate of it. */
export interface CommittedRef {
  seq: number;
  ts: string;
}

/**
 * Author strings are shared by all of an author's entries: folding from the log (one string per
 * row) would otherwise keep a copy per message. The table is a cache, cleared when it exceeds
 * this many authors, so it stays bounded in a room with endless new authors.
 */
const MAX_INTERNED_AUTHORS = 1_024;

/** One message's reactions: emoji → the ids of the users who reacted with it, in order. */
export type MessageReactions = Map<string, string[]>;

/**
 * seq → author (null: a system message) of a room's most recent `limit` messages, oldest first,
 * and the reactions of those of them that have any. Reactions live in a side table keyed by seq,
 * so a message without reactions still costs no object; they are evicted with their message and
 * dropped when it is deleted. Their number is capped by the command rules (`reactionVerdict`).
 */
export class MessageWindow {
  private readonly authors = new Map<number, string | null>();
  private readonly deletedSeqs = new Set<number>();
  private readonly interned = new Map<string, string>();
  private readonly reactionsBySeq = new Map<number, MessageReactions>();

  constructor(readonly limit: number) {}

  get size(): number {
    return this.authors.size;
  }

  /** A fresh object (for the rare edit or delete check), or undefined outside the window. */
  get(seq: number): MessageInfo | undefined {
    const authorId = this.authors.get(seq);
    if (authorId === undefined) return undefined;
    return { authorId, deleted: this.deletedSeqs.has(seq) };
  }

  has(seq: number): boolean {
    return this.authors.has(seq);
  }

  /** Appends the message at `seq` (above every seq held) and evicts the oldest beyond the limit. */
  add(seq: number, authorId: string | null, deleted = false): void {
    this.authors.set(seq, authorId === null ? null : this.intern(authorId));
    if (deleted) this.deletedSeqs.add(seq);
    if (this.authors.size > this.limit) this.evictOldest(this.authors.size - this.limit);
  }

  /** Marks the message at `seq` deleted; false if it is not in the window. */
  markDeleted(seq: number): boolean {
    if (!this.authors.has(seq)) return false;
    this.deletedSeqs.add(seq);
    this.reactionsBySeq.delete(seq);
    return true;
  }

  /** The reactions of the message at `seq` (undefined: none, or not in the window). Read-only. */
  reactions(seq: number): ReadonlyMap<string, readonly string[]> | undefined {
    return this.reactionsBySeq.get(seq);
  }

  /** Whether `userId` has reacted to the message at `seq` with `emoji`. */
  hasReaction(seq: number, emoji: string, userId: string): boolean {
    return this.reactionsBySeq.get(seq)?.get(emoji)?.includes(userId) ?? false;
  }

  /**
   * Adds `userId`'s `emoji` to a live message of the window. False (nothing changed) when the
   * message is not in the window, is deleted, or already has that reaction from that user.
   */
  addReaction(seq: number, emoji: string, userId: string): boolean {
    if (!this.authors.has(seq) || this.deletedSeqs.has(seq)) return false;
    let byEmoji = this.reactionsBySeq.get(seq);
    if (!byEmoji) this.reactionsBySeq.set(seq, (byEmoji = new Map()));
    const users = byEmoji.get(emoji);
    if (!users) {
      byEmoji.set(emoji, [this.intern(userId)]);
      return true;
    }
    if (users.includes(userId)) return false;
    users.push(this.intern(userId));
    return true;
  }

  /** Removes `userId`'s `emoji` from the message at `seq`; false when it was not there. */
  removeReaction(seq: number, emoji: string, userId: string): boolean {
    const byEmoji = this.reactionsBySeq.get(seq);
    const users = byEmoji?.get(emoji);
    const at = users?.indexOf(userId) ?? -1;
    if (!byEmoji || !users || at < 0) return false;
    users.splice(at, 1);
    if (users.length === 0) byEmoji.delete(emoji);
    if (byEmoji.size === 0) this.reactionsBySeq.delete(seq);
    return true;
  }

  /** [total (user, emoji) pairs, of them `userId`'s] on the message at `seq`. */
  reactionCounts(seq: number, userId: string): { total: number; byUser: number } {
    let total = 0;
    let byUser = 0;
    this.reactionsBySeq.get(seq)?.forEach((users) => {
      total += users.length;
      if (users.includes(userId)) byUser += 1;
    });
    return { total, byUser };
  }

  /** The messages that have reactions, in the order their first reaction came (snapshots keep it). */
  forEachReactions(visit: (seq: number, reactions: ReadonlyMap<string, readonly string[]>) => void): void {
    this.reactionsBySeq.forEach((reactions, seq) => visit(seq, reactions));
  }

  /** How many messages of the window have reactions. */
  get reactedMessages(): number {
    return this.reactionsBySeq.size;
  }

  /** The oldest seq held, or undefined when empty. */
  oldestSeq(): number | undefined {
    for (const seq of this.authors.keys()) return seq;
    return undefined;
  }

  /** Oldest first, without allocating per entry. */
  forEach(visit: (seq: number, authorId: string | null, deleted: boolean) => void): void {
    this.authors.forEach((authorId, seq) => visit(seq, authorId, this.deletedSeqs.has(seq)));
  }

  /** The seqs held, oldest first. */
  keys(): IterableIterator<number> {
    return this.authors.keys();
  }

  /** Oldest first, as `[seq, MessageInfo]` (allocates: for tests and tools, not hot paths). */
  *[Symbol.iterator](): IterableIterator<[number, MessageInfo]> {
    for (const [seq, authorId] of this.authors) yield [seq, { authorId, deleted: this.deletedSeqs.has(seq) }];
  }

  private intern(authorId: string): string {
    const known = this.interned.get(authorId);
    if (known !== undefined) return known;
    if (this.interned.size >= MAX_INTERNED_AUTHORS) this.interned.clear();
    this.interned.set(authorId, authorId);
    return authorId;
  }

  private evictOldest(count: number): void {
    for (const seq of this.authors.keys()) {
      if (count-- <= 0) break;
      this.authors.delete(seq);
      this.deletedSeqs.delete(seq);
      this.reactionsBySeq.delete(seq);
    }
  }
}

/**
 * An ISO timestamp that `new Date(ms).toISOString()` reproduces exactly, so it can be kept as a
 * number. Every ts this service writes is one (`Date#toISOString`); anything else (a log row
 * imported with microseconds, say) is kept as its string.
 */
function isCanonicalIso(ts: string): boolean {
  return ts.length === 24 && ts.charCodeAt(23) === 90 /* Z */ && ts.charCodeAt(10) === 84 /* T */;
}

const INITIAL_CAPACITY = 16;

/**
 * dedup key → where it was committed, for a room's most recent `limit` sends, oldest first.
 * Each key maps to an ordinal (monotonic insert number); the ordinals held are always the
 * contiguous range [next - size, next), so seq and ts sit in ring buffers at `ordinal % capacity`.
 * The rings grow by doubling up to `limit`, so an idle small room costs little.
 */
export class DedupWindow {
  private readonly ordinals = new Map<string, number>();
  private seqs = new Float64Array(INITIAL_CAPACITY);
  private times = new Float64Array(INITIAL_CAPACITY);
  /** ordinal → ts, for the rare ts that is not canonical (see isCanonicalIso). */
  private readonly oddTimes = new Map<number, string>();
  private next = 0;

  constructor(readonly limit: number) {}

  get size(): number {
    return this.ordinals.size;
  }

  has(key: string): boolean {
    return this.ordinals.has(key);
  }

  /** The keys held, oldest first. */
  keys(): IterableIterator<string> {
    return this.ordinals.keys();
  }

  /** The first result of the send with this dedup key, as a fresh object; undefined if unknown. */
  get(key: string): CommittedRef | undefined {
    const ordinal = this.ordinals.get(key);
    return ordinal === undefined ? undefined : this.refAt(ordinal);
  }

  /**
   * Records `key`'s result. A new key is the newest entry and evicts the oldest beyond the limit;
   * a known key keeps its place and takes the new result (as Map#set would).
   */
  set(key: string, seq: number, ts: string): void {
    let ordinal = this.ordinals.get(key);
    if (ordinal === undefined) {
      if (this.ordinals.size === this.seqs.length && this.seqs.length < this.limit) this.grow();
      ordinal = this.next++;
      this.ordinals.set(key, ordinal);
      if (this.ordinals.size > this.limit) this.evictOldest(this.ordinals.size - this.limit);
    }
    const slot = ordinal % this.seqs.length;
    this.seqs[slot] = seq;
    if (isCanonicalIso(ts)) {
      this.times[slot] = Date.parse(ts);
      this.oddTimes.delete(ordinal);
    } else {
      this.oddTimes.set(ordinal, ts);
    }
  }

  /** Oldest first. `tsMs` is NaN when only `tsText` holds the ts; see `tsAt`. */
  forEach(visit: (key: string, seq: number, tsMs: number, tsText: string | undefined) => void): void {
    this.ordinals.forEach((ordinal, key) => {
      const slot = ordinal % this.seqs.length;
      const odd = this.oddTimes.get(ordinal);
      visit(key, this.seqs[slot]!, odd === undefined ? this.times[slot]! : Number.NaN, odd);
    });
  }

  /** Oldest first, as `[key, CommittedRef]` (allocates: for tests and tools, not hot paths). */
  *[Symbol.iterator](): IterableIterator<[string, CommittedRef]> {
    for (const [key, ordinal] of this.ordinals) yield [key, this.refAt(ordinal)];
  }

  private refAt(ordinal: number): CommittedRef {
    const slot = ordinal % this.seqs.length;
    return { seq: this.seqs[slot]!, ts: this.oddTimes.get(ordinal) ?? new Date(this.times[slot]!).toISOString() };
  }

  private grow(): void {
    const capacity = Math.min(this.limit, this.seqs.length * 2);
    const seqs = new Float64Array(capacity);
    const times = new Float64Array(capacity);
    for (let ordinal = this.next - this.ordinals.size; ordinal < this.next; ordinal++) {
      seqs[ordinal % capacity] = this.seqs[ordinal % this.seqs.length]!;
      times[ordinal % capacity] = this.times[ordinal % this.times.length]!;
    }
    this.seqs = seqs;
    this.times = times;
  }

  private evictOldest(count: number): void {
    for (const key of this.ordinals.keys()) {
      if (count-- <= 0) break;
      const oldest = this.next - this.ordinals.size;
      this.ordinals.delete(key);
      if (this.oddTimes.size > 0) this.oddTimes.delete(oldest);
    }
  }
}

/**
 * The key under which a send is deduplicated. Built with `join` on purpose: a template literal
 * or `+` makes a V8 cons string, which keeps both halves alive as separate objects for as long
 * as the window holds the key; `join` makes one flat string.
 */
export function dedupKey(actorId: string, clientMsgId: string): string {
  return [actorId, clientMsgId].join('\n');
}
