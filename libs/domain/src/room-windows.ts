/**
 * The two bounded windows a room's folded state keeps in memory, laid out for a gateway that
 * holds hundreds of full rooms for weeks.
 *
 * Why not plain `Map<K, {…}>`s: V8's major GC marks every live object, so its pauses grow with
 * the number of objects, not bytes. A full room held about 20k of them in those Maps (an entry
 * object per message, and per dedup entry an entry object, an ISO timestamp string and a
 * concatenated key that kept both of its halves alive). A gateway with 500 full rooms then held
 * ~10M objects, and each major GC stalled acknowledgements for over 100 ms. Here a message entry
 * costs no object of its own (a Smi key and a shared author string), and a dedup entry costs none
 * at all: its key is kept as a 64-bit fingerprint, and fingerprints, seqs and timestamps live in
 * typed arrays, outside the GC's marking. Measured with the same 500 × 5,500 sends
 * (`node --expose-gc`): heap 914 → 642 MB with one flat key string per dedup entry, full-GC pause
 * roughly halved; the fingerprints then removed the last 2.75M of those strings.
 *
 * Pure data structures: no I/O.
 */
import { dedupHash, dedupHashHex, dedupHashOut } from './dedup-hash';
import { ReactionTable, type ReactionColumns } from './reaction-table';

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
 * and the reactions of those of them that have any. Reactions live in a side table of typed
 * arrays (reaction-table.ts), so neither a message nor a reaction costs an object; they are
 * evicted with their message and dropped when it is deleted. Their number is capped by the
 * command rules (`decideReaction`).
 */
export class MessageWindow {
  private readonly authors = new Map<number, string | null>();
  /**
   * The seqs of `authors` in insertion order, so the oldest is found without iterating the Map:
   * a Map iterator starts at its backing store's first slot and steps over every entry deleted
   * since the last rehash, which in a full window (one delete per add) is thousands of them.
   */
  private readonly order = new SeqQueue();
  private readonly deletedSeqs = new Set<number>();
  private readonly interned = new Map<string, string>();
  private readonly reactionTable = new ReactionTable();

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
    if (!this.authors.has(seq)) this.order.push(seq);
    this.authors.set(seq, authorId === null ? null : this.intern(authorId));
    if (deleted) this.deletedSeqs.add(seq);
    if (this.authors.size > this.limit) this.evictOldest(this.authors.size - this.limit);
  }

  /** Marks the message at `seq` deleted; false if it is not in the window. */
  markDeleted(seq: number): boolean {
    if (!this.authors.has(seq)) return false;
    this.deletedSeqs.add(seq);
    this.reactionTable.clear(seq);
    return true;
  }

  /** The reactions of the message at `seq` (undefined: none, or not in the window), as a fresh Map. */
  reactions(seq: number): ReadonlyMap<string, readonly string[]> | undefined {
    return this.reactionTable.get(seq);
  }

  /** Whether `userId` has reacted to the message at `seq` with `emoji`. */
  hasReaction(seq: number, emoji: string, userId: string): boolean {
    return this.reactionTable.has(seq, emoji, userId);
  }

  /**
   * Adds `userId`'s `emoji` to a live message of the window. False (nothing changed) when the
   * message is not in the window, is deleted, or already has that reaction from that user.
   */
  addReaction(seq: number, emoji: string, userId: string): boolean {
    if (!this.authors.has(seq) || this.deletedSeqs.has(seq)) return false;
    return this.reactionTable.add(seq, emoji, userId);
  }

  /** Removes `userId`'s `emoji` from the message at `seq`; false when it was not there. */
  removeReaction(seq: number, emoji: string, userId: string): boolean {
    return this.reactionTable.remove(seq, emoji, userId);
  }

  /** [total (user, emoji) pairs, of them `userId`'s] on the message at `seq`. */
  reactionCounts(seq: number, userId: string): { total: number; byUser: number } {
    return this.reactionTable.counts(seq, userId);
  }

  /** The messages that have reactions, in the order their first reaction came (snapshots keep it). */
  forEachReactions(visit: (seq: number, reactions: ReadonlyMap<string, readonly string[]>) => void): void {
    this.reactionTable.forEach(visit);
  }

  /** The reactions as flat columns (for the snapshot encoder's copy; see ReactionColumns). */
  reactionColumns(): ReactionColumns {
    return this.reactionTable.columns();
  }

  /** How many messages of the window have reactions. */
  get reactedMessages(): number {
    return this.reactionTable.messages;
  }

  /** The oldest seq held, or undefined when empty. */
  oldestSeq(): number | undefined {
    return this.order.size > 0 ? this.order.first() : undefined;
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
    for (; count > 0 && this.order.size > 0; count--) {
      const seq = this.order.shift();
      this.authors.delete(seq);
      this.deletedSeqs.delete(seq);
      this.reactionTable.clear(seq);
    }
  }
}

/**
 * A FIFO of int32 seqs in a ring of a typed array that doubles when full: no object per entry,
 * O(1) push and shift. It starts small, so a room with few messages holds a few dozen bytes.
 */
export class SeqQueue {
  private ring = new Int32Array(INITIAL_CAPACITY);
  private head = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(seq: number): void {
    if (this.count === this.ring.length) this.grow();
    this.ring[(this.head + this.count) % this.ring.length] = seq;
    this.count += 1;
  }

  /** The oldest seq; only when `size > 0`. */
  first(): number {
    return this.ring[this.head]!;
  }

  /** Removes and returns the oldest seq; only when `size > 0`. */
  shift(): number {
    const seq = this.ring[this.head]!;
    this.head = (this.head + 1) % this.ring.length;
    this.count -= 1;
    return seq;
  }

  private grow(): void {
    const next = new Int32Array(this.ring.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.ring[(this.head + i) % this.ring.length]!;
    this.ring = next;
    this.head = 0;
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
 * Where a room's most recent `limit` sends were committed, oldest first, remembered by their
 * 64-bit fingerprint (dedup-hash.ts): no string and no object per entry.
 *
 * Layout: entry number `ordinal` (monotonic) lives at ring slot `ordinal % capacity` of four
 * typed arrays (fingerprint lanes, seq, ts); the ordinals held are always the contiguous range
 * [next - size, next). An open-addressing table (linear probing, at most half full) maps a
 * fingerprint to its slot + 1 (0: empty). The rings grow by doubling up to `limit`, so an idle
 * small room costs little; a full one of 10,000 costs about 370 KB, all outside the GC's marking.
 *
 * `get` answers a *candidate*: a fingerprint can collide, and two keys that collide share one
 * entry (the later result wins). The room actor confirms a candidate against the committed event
 * before it treats a send as a duplicate, so a collision costs a lookup, never a message.
 */
export class DedupWindow {
  private hashHi = new Uint32Array(INITIAL_CAPACITY);
  private hashLo = new Uint32Array(INITIAL_CAPACITY);
  private seqs = new Float64Array(INITIAL_CAPACITY);
  private times = new Float64Array(INITIAL_CAPACITY);
  private index = new Int32Array(INITIAL_CAPACITY * 2);
  /** ordinal → ts, for the rare ts that is not canonical (see isCanonicalIso). */
  private readonly oddTimes = new Map<number, string>();
  private next = 0;
  private count = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`DedupWindow limit must be a positive integer, got ${limit}`);
  }

  get size(): number {
    return this.count;
  }

  /** Whether a send of `clientMsgId` by `actorId` may be held (a candidate; see the class comment). */
  has(actorId: string, clientMsgId: string): boolean {
    dedupHash(actorId, clientMsgId);
    return this.slotOf(dedupHashOut.hi, dedupHashOut.lo) >= 0;
  }

  /** The candidate first result of that send, as a fresh object; undefined if surely unknown. */
  get(actorId: string, clientMsgId: string): CommittedRef | undefined {
    dedupHash(actorId, clientMsgId);
    return this.getHashed(dedupHashOut.hi, dedupHashOut.lo);
  }

  /** `get` by fingerprint lanes. */
  getHashed(hi: number, lo: number): CommittedRef | undefined {
    const slot = this.slotOf(hi, lo);
    return slot < 0 ? undefined : this.refAt(slot);
  }

  /**
   * Records the result of a send. A new fingerprint is the newest entry and evicts the oldest
   * beyond the limit; a known one keeps its place and takes the new result (as Map#set would).
   */
  set(actorId: string, clientMsgId: string, seq: number, ts: string): void {
    dedupHash(actorId, clientMsgId);
    this.setHashed(dedupHashOut.hi, dedupHashOut.lo, seq, ts);
  }

  /** `set` by fingerprint lanes (a snapshot holds fingerprints, not keys). */
  setHashed(hi: number, lo: number, seq: number, ts: string): void {
    const slot = this.place(hi, lo, seq);
    const ordinal = this.ordinalAt(slot);
    if (isCanonicalIso(ts)) {
      this.times[slot] = Date.parse(ts);
      if (this.oddTimes.size > 0) this.oddTimes.delete(ordinal);
    } else {
      this.oddTimes.set(ordinal, ts);
    }
  }

  /**
   * `setHashed` with the ts as epoch ms, as format-5 snapshots hold it: a ts that a canonical
   * ISO-8601 text (years 0000–9999, ms precision) carries, so no string is built and parsed.
   */
  setHashedMs(hi: number, lo: number, seq: number, tsMs: number): void {
    const slot = this.place(hi, lo, seq);
    this.times[slot] = tsMs;
    if (this.oddTimes.size > 0) this.oddTimes.delete(this.ordinalAt(slot));
  }

  /** The slot of this fingerprint, taken as the newest entry if it is new, with `seq` set. */
  private place(hi: number, lo: number, seq: number): number {
    let slot = this.slotOf(hi, lo);
    if (slot < 0) {
      if (this.count === this.limit) this.evictOldest();
      else if (this.count === this.seqs.length) this.grow();
      slot = this.next % this.seqs.length;
      this.next++;
      this.count++;
      this.hashHi[slot] = hi;
      this.hashLo[slot] = lo;
      this.insertIndex(slot);
    }
    this.seqs[slot] = seq;
    return slot;
  }

  /** Oldest first: fingerprint lanes, seq, and `tsMs` (NaN when only `tsText` holds the ts). */
  forEach(visit: (hashHi: number, hashLo: number, seq: number, tsMs: number, tsText: string | undefined) => void): void {
    const capacity = this.seqs.length;
    for (let ordinal = this.next - this.count; ordinal < this.next; ordinal++) {
      const slot = ordinal % capacity;
      const odd = this.oddTimes.size > 0 ? this.oddTimes.get(ordinal) : undefined;
      visit(this.hashHi[slot]!, this.hashLo[slot]!, this.seqs[slot]!, odd === undefined ? this.times[slot]! : Number.NaN, odd);
    }
  }

  /** Oldest first, as `[fingerprint hex, CommittedRef]` (allocates: for tests and tools, not hot paths). */
  *[Symbol.iterator](): IterableIterator<[string, CommittedRef]> {
    const capacity = this.seqs.length;
    for (let ordinal = this.next - this.count; ordinal < this.next; ordinal++) {
      const slot = ordinal % capacity;
      yield [dedupHashHex(this.hashHi[slot]!, this.hashLo[slot]!), this.refAt(slot)];
    }
  }

  /** The ring slot holding this fingerprint, or -1. */
  private slotOf(hi: number, lo: number): number {
    const mask = this.index.length - 1;
    for (let at = lo & mask; ; at = (at + 1) & mask) {
      const held = this.index[at]!;
      if (held === 0) return -1;
      const slot = held - 1;
      if (this.hashLo[slot] === lo && this.hashHi[slot] === hi) return slot;
    }
  }

  /** The ordinal of the entry at `slot` (which must be held). */
  private ordinalAt(slot: number): number {
    const capacity = this.seqs.length;
    const oldest = this.next - this.count;
    return oldest + ((slot - (oldest % capacity) + capacity) % capacity);
  }

  private refAt(slot: number): CommittedRef {
    const odd = this.oddTimes.size > 0 ? this.oddTimes.get(this.ordinalAt(slot)) : undefined;
    return { seq: this.seqs[slot]!, ts: odd ?? new Date(this.times[slot]!).toISOString() };
  }

  private insertIndex(slot: number): void {
    const mask = this.index.length - 1;
    let at = this.hashLo[slot]! & mask;
    while (this.index[at] !== 0) at = (at + 1) & mask;
    this.index[at] = slot + 1;
  }

  /** Drops the oldest entry: its index cell by backward-shift deletion (no tombstones to pile up). */
  private evictOldest(): void {
    const oldest = this.next - this.count;
    const slot = oldest % this.seqs.length;
    const mask = this.index.length - 1;
    let hole = this.hashLo[slot]! & mask;
    while (this.index[hole] !== slot + 1) hole = (hole + 1) & mask;
    this.index[hole] = 0;
    // Pull back every later entry of the probe run that may not sit after the hole.
    for (let at = (hole + 1) & mask; this.index[at] !== 0; at = (at + 1) & mask) {
      const home = this.hashLo[this.index[at]! - 1]! & mask;
      const homeInHoleToAt = hole <= at ? home > hole && home <= at : home > hole || home <= at;
      if (homeInHoleToAt) continue;
      this.index[hole] = this.index[at]!;
      this.index[at] = 0;
      hole = at;
    }
    this.count--;
    if (this.oddTimes.size > 0) this.oddTimes.delete(oldest);
  }

  private grow(): void {
    const before = this.seqs.length;
    const capacity = Math.min(this.limit, before * 2);
    const hashHi = new Uint32Array(capacity);
    const hashLo = new Uint32Array(capacity);
    const seqs = new Float64Array(capacity);
    const times = new Float64Array(capacity);
    for (let ordinal = this.next - this.count; ordinal < this.next; ordinal++) {
      const from = ordinal % before;
      const to = ordinal % capacity;
      hashHi[to] = this.hashHi[from]!;
      hashLo[to] = this.hashLo[from]!;
      seqs[to] = this.seqs[from]!;
      times[to] = this.times[from]!;
    }
    this.hashHi = hashHi;
    this.hashLo = hashLo;
    this.seqs = seqs;
    this.times = times;
    let indexSize = 2;
    while (indexSize < capacity * 2) indexSize *= 2;
    this.index = new Int32Array(indexSize);
    for (let ordinal = this.next - this.count; ordinal < this.next; ordinal++) this.insertIndex(ordinal % capacity);
  }
}

/**
 * The key of a send while it is in flight (the room actor's pending map), and the dedup key that
 * snapshots of formats 1–3 stored: actor id, a newline, client message id. Actor ids never hold
 * a newline, so the first one splits it again.
 */
export function dedupKey(actorId: string, clientMsgId: string): string {
  return [actorId, clientMsgId].join('\n');
}
