/**
 * The outbox: messages sent but not yet acknowledged, kept in a pluggable storage so that a
 * message typed just before a reload (or a crashed tab) is sent again, with the same
 * `clientMsgId`, when a new client over the same storage joins the room. The server's
 * idempotency on `(room, user, clientMsgId)` turns the resend into exactly one message.
 */
export interface OutboxEntry {
  clientMsgId: string;
  text: string;
  replyTo?: number;
  /** When `send` was called, ms since the epoch. */
  createdAt: number;
}

/** Where outbox entries live. Every method is synchronous: Web Storage is. */
export interface OutboxStorage {
  /** The entries of one outbox (room and user), oldest first. */
  load(key: string): OutboxEntry[];
  /** Replaces the entries of one outbox; an empty list removes it. */
  save(key: string, entries: OutboxEntry[]): void;
}

/** The default: entries live as long as the process or page does. */
export class MemoryOutboxStorage implements OutboxStorage {
  private readonly boxes = new Map<string, OutboxEntry[]>();

  load(key: string): OutboxEntry[] {
    return (this.boxes.get(key) ?? []).map((e) => ({ ...e }));
  }

  save(key: string, entries: OutboxEntry[]): void {
    if (entries.length === 0) this.boxes.delete(key);
    else this.boxes.set(key, entries.map((e) => ({ ...e })));
  }
}

/** The part of the Web Storage API the adapter uses (`localStorage`, `sessionStorage`, a fake). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Entries as JSON under `<prefix><key>` of a Web Storage. A value that does not parse (another
 * version, a hand edit) counts as empty rather than breaking the client; a full storage
 * (`QuotaExceededError`) keeps the message in memory only, and the send still goes out: after a
 * failed write the in-memory list is the outbox (the stored value is stale) until a later write
 * of the whole current list succeeds.
 */
export class WebStorageOutboxStorage implements OutboxStorage {
  /** key → the current entries, for the keys whose last write to the storage failed. */
  private readonly memoryOnly = new Map<string, OutboxEntry[]>();

  constructor(
    private readonly storage: StorageLike,
    private readonly prefix = 'durable-rooms.outbox.',
  ) {}

  load(key: string): OutboxEntry[] {
    const inMemory = this.memoryOnly.get(key);
    if (inMemory) return inMemory.map((e) => ({ ...e }));
    let raw: string | null;
    try {
      raw = this.storage.getItem(this.prefix + key);
    } catch {
      return [];
    }
    if (raw === null) return [];
    try {
      const parsed: unknown = JSON.parse(raw);
      return Array.isArray(parsed) ? parsed.filter(isEntry) : [];
    } catch {
      return [];
    }
  }

  save(key: string, entries: OutboxEntry[]): void {
    try {
      if (entries.length === 0) this.storage.removeItem(this.prefix + key);
      else this.storage.setItem(this.prefix + key, JSON.stringify(entries));
      this.memoryOnly.delete(key);
    } catch {
      // Full (or unavailable): the stored value, if any, is an older list and stays as it is (it
      // still survives a reload; a resend of an acknowledged message is deduplicated by the
      // server). From now on reads come from memory, and the next save writes the whole list.
      this.memoryOnly.set(key, entries.map((e) => ({ ...e })));
    }
  }
}

/** `localStorage` when the platform has one (browsers), else memory (Node). */
export function defaultOutboxStorage(): OutboxStorage {
  const candidate = (globalThis as { localStorage?: StorageLike }).localStorage;
  return candidate ? new WebStorageOutboxStorage(candidate) : new MemoryOutboxStorage();
}

function isEntry(value: unknown): value is OutboxEntry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    typeof e.clientMsgId === 'string' &&
    typeof e.text === 'string' &&
    typeof e.createdAt === 'number' &&
    (e.replyTo === undefined || typeof e.replyTo === 'number')
  );
}

export class OutboxFullError extends Error {
  readonly code = 'outbox_full';
}

/**
 * One room's outbox for one user over a storage. Bounded: at most `maxEntries` unacknowledged
 * messages; one more is refused (`OutboxFullError`) instead of growing without end while offline.
 */
export class Outbox {
  constructor(
    private readonly storage: OutboxStorage,
    private readonly key: string,
    readonly maxEntries = 500,
  ) {}

  /** Unacknowledged entries, oldest first (the order they are resent in). */
  entries(): OutboxEntry[] {
    return this.storage.load(this.key).sort((a, b) => a.createdAt - b.createdAt);
  }

  has(clientMsgId: string): boolean {
    return this.storage.load(this.key).some((e) => e.clientMsgId === clientMsgId);
  }

  add(entry: OutboxEntry): void {
    const entries = this.storage.load(this.key);
    if (entries.some((e) => e.clientMsgId === entry.clientMsgId)) return;
    if (entries.length >= this.maxEntries) throw new OutboxFullError(`outbox full: ${this.maxEntries} messages are waiting for the server`);
    entries.push(entry);
    this.storage.save(this.key, entries);
  }

  remove(clientMsgId: string): void {
    const entries = this.storage.load(this.key);
    const kept = entries.filter((e) => e.clientMsgId !== clientMsgId);
    if (kept.length !== entries.length) this.storage.save(this.key, kept);
  }
}
