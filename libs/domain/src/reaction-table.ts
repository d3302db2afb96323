/**
 * The reactions of a room's windowed messages, kept without an object per message or per
 * reaction.
 *
 * Why: as `Map<seq, Map<emoji, userId[]>>` a reacted message cost a Map, its backing store and an
 * array, about 300 bytes and four objects for one reaction. A gateway holding 500 rooms with 5,000
 * reacted messages each then carried 1 GB of live heap, and the full GC that marks it took a
 * second of incremental marking during issue 7's snapshot wave (light sender p99 477 ms).
 *
 * Layout: a message's reactions are a list of emoji nodes in the order each emoji first came,
 * and each emoji node has the list of its users in the order they reacted: exactly the order the
 * nested Maps and arrays kept. Nodes live in one pool of Int32Array columns with a free list; the
 * emoji and user id strings are interned in a table with reference counts, so a node holds two
 * ints. The only per-message entry is seq → first node in a Map of small integers, which V8 keeps
 * in one backing store. A reaction costs about 12 bytes (24 for the first of its emoji).
 *
 * Pure data structure: no I/O.
 */

const NONE = -1;
const INITIAL_NODES = 16;

/** Interned strings with reference counts: an id is reused once nothing refers to its string. */
class StringTable {
  private readonly ids = new Map<string, number>();
  private strings: string[] = [];
  private refs = new Int32Array(INITIAL_NODES);
  private readonly free: number[] = [];

  /** The id of `value`, or NONE when nothing refers to it (so no node can hold it). */
  find(value: string): number {
    return this.ids.get(value) ?? NONE;
  }

  text(id: number): string {
    return this.strings[id]!;
  }

  /** Takes a reference to `value`, interning it if needed; returns its id. */
  acquire(value: string): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.free.pop() ?? this.strings.length;
      if (id >= this.refs.length) this.refs = grown(this.refs, this.refs.length * 2);
      this.strings[id] = value;
      this.ids.set(value, id);
    }
    this.refs[id]! += 1;
    return id;
  }

  release(id: number): void {
    if ((this.refs[id]! -= 1) > 0) return;
    this.ids.delete(this.strings[id]!);
    this.strings[id] = '';
    this.free.push(id);
  }

  /** Every string by id ('' at a free id): the table of a `ReactionColumns`. */
  copy(): string[] {
    return this.strings.slice();
  }

  /** Distinct strings referred to (for tests: a table that only grows would be a leak). */
  get size(): number {
    return this.ids.size;
  }
}

function grown(from: Int32Array<ArrayBuffer>, length: number): Int32Array<ArrayBuffer> {
  const to = new Int32Array(length);
  to.set(from);
  return to;
}

/**
 * A table's reactions as flat columns, in its order: the cheapest form to copy on the event loop
 * and to post to a snapshot worker (a few typed arrays and one short string array, instead of
 * four small arrays per reacted message). Message i has `emojiCounts[i]` emoji, taken in order
 * from `emoji`; emoji j has `userCounts[j]` users, taken in order from `users`. `emoji` and
 * `users` hold indices into `strings`.
 */
export interface ReactionColumns {
  seqs: Float64Array<ArrayBuffer>;
  emojiCounts: Int32Array<ArrayBuffer>;
  emoji: Int32Array<ArrayBuffer>;
  userCounts: Int32Array<ArrayBuffer>;
  users: Int32Array<ArrayBuffer>;
  strings: string[];
}

export class ReactionTable {
  private readonly firstEmoji = new Map<number, number>();
  private readonly strings = new StringTable();
  /** Per node: the interned emoji (emoji node) or user id (user node). */
  private label = new Int32Array(INITIAL_NODES);
  /** Per node: the next node of its list (emoji of a message, or users of an emoji), or NONE. */
  private next = new Int32Array(INITIAL_NODES);
  /** Per emoji node: its first user node. */
  private firstUser = new Int32Array(INITIAL_NODES);
  private freeNode = NONE;
  private used = 0;
  private live = 0;

  /** Messages with at least one reaction. */
  get messages(): number {
    return this.firstEmoji.size;
  }

  /** Nodes in use (for tests and memory figures). */
  get nodes(): number {
    return this.live;
  }

  /** Distinct emoji and user ids held (for tests). */
  get internedStrings(): number {
    return this.strings.size;
  }

  has(seq: number, emoji: string, userId: string): boolean {
    const user = this.strings.find(userId);
    if (user === NONE) return false;
    const emojiNode = this.findEmoji(seq, emoji);
    return emojiNode !== NONE && this.findUser(emojiNode, user) !== NONE;
  }

  /** Adds the pair; false (nothing changed) if it is there already. */
  add(seq: number, emoji: string, userId: string): boolean {
    const user = this.strings.find(userId);
    let emojiNode = this.findEmoji(seq, emoji);
    if (emojiNode !== NONE && user !== NONE && this.findUser(emojiNode, user) !== NONE) return false;
    if (emojiNode === NONE) {
      emojiNode = this.allocate(this.strings.acquire(emoji));
      this.firstUser[emojiNode] = NONE;
      const head = this.firstEmoji.get(seq);
      if (head === undefined) this.firstEmoji.set(seq, emojiNode);
      else this.next[this.lastOf(head)] = emojiNode;
    }
    const userNode = this.allocate(this.strings.acquire(userId));
    const users = this.firstUser[emojiNode]!;
    if (users === NONE) this.firstUser[emojiNode] = userNode;
    else this.next[this.lastOf(users)] = userNode;
    return true;
  }

  /** Removes the pair; false if it was not there. An emoji left without users goes, and so does an empty message. */
  remove(seq: number, emoji: string, userId: string): boolean {
    const user = this.strings.find(userId);
    const emojiId = this.strings.find(emoji);
    const head = this.firstEmoji.get(seq);
    if (user === NONE || emojiId === NONE || head === undefined) return false;
    let previousEmoji = NONE;
    let emojiNode = head;
    while (emojiNode !== NONE && this.label[emojiNode] !== emojiId) {
      previousEmoji = emojiNode;
      emojiNode = this.next[emojiNode]!;
    }
    if (emojiNode === NONE) return false;
    let previousUser = NONE;
    let userNode = this.firstUser[emojiNode]!;
    while (userNode !== NONE && this.label[userNode] !== user) {
      previousUser = userNode;
      userNode = this.next[userNode]!;
    }
    if (userNode === NONE) return false;
    if (previousUser === NONE) this.firstUser[emojiNode] = this.next[userNode]!;
    else this.next[previousUser] = this.next[userNode]!;
    this.release(userNode);
    if (this.firstUser[emojiNode] !== NONE) return true;
    const afterEmoji = this.next[emojiNode]!;
    if (previousEmoji !== NONE) this.next[previousEmoji] = afterEmoji;
    else if (afterEmoji !== NONE) this.firstEmoji.set(seq, afterEmoji);
    else this.firstEmoji.delete(seq);
    this.release(emojiNode);
    return true;
  }

  /** Drops every reaction of the message at `seq` (deleted, or evicted from the window). */
  clear(seq: number): void {
    const head = this.firstEmoji.get(seq);
    if (head === undefined) return;
    this.firstEmoji.delete(seq);
    for (let emojiNode = head; emojiNode !== NONE; ) {
      for (let userNode = this.firstUser[emojiNode]!; userNode !== NONE; ) {
        const after = this.next[userNode]!;
        this.release(userNode);
        userNode = after;
      }
      const after = this.next[emojiNode]!;
      this.release(emojiNode);
      emojiNode = after;
    }
  }

  /** [total (user, emoji) pairs, of them `userId`'s] on the message at `seq`. */
  counts(seq: number, userId: string): { total: number; byUser: number } {
    const user = this.strings.find(userId);
    let total = 0;
    let byUser = 0;
    for (let emojiNode = this.firstEmoji.get(seq) ?? NONE; emojiNode !== NONE; emojiNode = this.next[emojiNode]!) {
      for (let userNode = this.firstUser[emojiNode]!; userNode !== NONE; userNode = this.next[userNode]!) {
        total += 1;
        if (this.label[userNode] === user) byUser += 1;
      }
    }
    return { total, byUser };
  }

  /** The message's reactions as emoji → user ids, both in order (a fresh Map), or undefined if none. */
  get(seq: number): Map<string, string[]> | undefined {
    const head = this.firstEmoji.get(seq);
    return head === undefined ? undefined : this.build(head);
  }

  /** The messages that have reactions, in the order their first reaction came (fresh Maps). */
  forEach(visit: (seq: number, reactions: Map<string, string[]>) => void): void {
    this.firstEmoji.forEach((head, seq) => visit(seq, this.build(head)));
  }

  /** Every reaction as `ReactionColumns`, without a Map or array per message. */
  columns(): ReactionColumns {
    let emojiNodes = 0;
    this.firstEmoji.forEach((head) => {
      for (let node = head; node !== NONE; node = this.next[node]!) emojiNodes += 1;
    });
    const seqs = new Float64Array(this.firstEmoji.size);
    const emojiCounts = new Int32Array(this.firstEmoji.size);
    const emoji = new Int32Array(emojiNodes);
    const userCounts = new Int32Array(emojiNodes);
    const users = new Int32Array(this.live - emojiNodes);
    let m = 0;
    let e = 0;
    let u = 0;
    this.firstEmoji.forEach((head, seq) => {
      seqs[m] = seq;
      for (let emojiNode = head; emojiNode !== NONE; emojiNode = this.next[emojiNode]!) {
        emojiCounts[m]! += 1;
        emoji[e] = this.label[emojiNode]!;
        for (let userNode = this.firstUser[emojiNode]!; userNode !== NONE; userNode = this.next[userNode]!) {
          userCounts[e]! += 1;
          users[u++] = this.label[userNode]!;
        }
        e += 1;
      }
      m += 1;
    });
    return { seqs, emojiCounts, emoji, userCounts, users, strings: this.strings.copy() };
  }

  private build(head: number): Map<string, string[]> {
    const byEmoji = new Map<string, string[]>();
    for (let emojiNode = head; emojiNode !== NONE; emojiNode = this.next[emojiNode]!) {
      const users: string[] = [];
      for (let userNode = this.firstUser[emojiNode]!; userNode !== NONE; userNode = this.next[userNode]!) users.push(this.strings.text(this.label[userNode]!));
      byEmoji.set(this.strings.text(this.label[emojiNode]!), users);
    }
    return byEmoji;
  }

  private findEmoji(seq: number, emoji: string): number {
    const emojiId = this.strings.find(emoji);
    if (emojiId === NONE) return NONE;
    let node = this.firstEmoji.get(seq) ?? NONE;
    while (node !== NONE && this.label[node] !== emojiId) node = this.next[node]!;
    return node;
  }

  private findUser(emojiNode: number, user: number): number {
    let node = this.firstUser[emojiNode]!;
    while (node !== NONE && this.label[node] !== user) node = this.next[node]!;
    return node;
  }

  private lastOf(node: number): number {
    while (this.next[node] !== NONE) node = this.next[node]!;
    return node;
  }

  private allocate(labelId: number): number {
    let node = this.freeNode;
    if (node !== NONE) {
      this.freeNode = this.next[node]!;
    } else {
      if (this.used === this.label.length) {
        const length = this.label.length * 2;
        this.label = grown(this.label, length);
        this.next = grown(this.next, length);
        this.firstUser = grown(this.firstUser, length);
      }
      node = this.used++;
    }
    this.label[node] = labelId;
    this.next[node] = NONE;
    this.live += 1;
    return node;
  }

  private release(node: number): void {
    this.strings.release(this.label[node]!);
    this.next[node] = this.freeNode;
    this.freeNode = node;
    this.live -= 1;
  }
}
