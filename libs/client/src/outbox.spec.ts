import { MemoryOutboxStorage, Outbox, OutboxFullError, WebStorageOutboxStorage, type OutboxEntry, type StorageLike } from './outbox.js';

/** A stand-in for the browser's `localStorage` (a test double of a browser API). */
class FakeStorage implements StorageLike {
  readonly items = new Map<string, string>();
  quota = Infinity;
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    if (value.length > this.quota) throw new Error('QuotaExceededError');
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

const entry = (id: string, createdAt: number, extra: Partial<OutboxEntry> = {}): OutboxEntry => ({ clientMsgId: id, text: `text ${id}`, createdAt, ...extra });

describe(Outbox.name, () => {
  it('keeps entries oldest first, once per clientMsgId, until removed', () => {
    const box = new Outbox(new MemoryOutboxStorage(), 'u1:r1');
    box.add(entry('b', 2));
    box.add(entry('a', 1));
    box.add(entry('a', 3));
    expect(box.entries().map((e) => e.clientMsgId)).toEqual(['a', 'b']);
    expect(box.has('a')).toBe(true);
    box.remove('a');
    expect(box.entries().map((e) => e.clientMsgId)).toEqual(['b']);
    expect(box.has('a')).toBe(false);
  });

  it('is bounded: one more than maxEntries is refused', () => {
    const box = new Outbox(new MemoryOutboxStorage(), 'k', 2);
    box.add(entry('1', 1));
    box.add(entry('2', 2));
    expect(() => box.add(entry('3', 3))).toThrow(OutboxFullError);
    box.remove('1');
    expect(() => box.add(entry('3', 3))).not.toThrow();
  });

  it('survives a reload over Web Storage: a new Outbox on the same storage sees the entries', () => {
    const storage = new FakeStorage();
    new Outbox(new WebStorageOutboxStorage(storage), 'u1:r1').add(entry('m1', 1, { replyTo: 4 }));
    const afterReload = new Outbox(new WebStorageOutboxStorage(storage), 'u1:r1');
    expect(afterReload.entries()).toEqual([entry('m1', 1, { replyTo: 4 })]);
    // Other users and rooms have their own outboxes.
    expect(new Outbox(new WebStorageOutboxStorage(storage), 'u2:r1').entries()).toEqual([]);
    afterReload.remove('m1');
    expect(storage.items.size).toBe(0); // an empty outbox leaves nothing behind
  });

  it('ignores a corrupt stored value and malformed entries instead of failing', () => {
    const storage = new FakeStorage();
    storage.setItem('durable-rooms.outbox.k', '{not json');
    expect(new Outbox(new WebStorageOutboxStorage(storage), 'k').entries()).toEqual([]);
    storage.setItem('durable-rooms.outbox.k', JSON.stringify([entry('ok', 1), { clientMsgId: 5 }, null]));
    expect(new Outbox(new WebStorageOutboxStorage(storage), 'k').entries().map((e) => e.clientMsgId)).toEqual(['ok']);
  });

  it('a full storage keeps the entry in memory, so the send still goes out', () => {
    const storage = new FakeStorage();
    storage.quota = 10;
    const box = new Outbox(new WebStorageOutboxStorage(storage), 'k');
    box.add(entry('big', 1));
    expect(box.entries().map((e) => e.clientMsgId)).toEqual(['big']);
    box.remove('big');
    expect(box.entries()).toEqual([]);
  });

  it('memory storage hands out copies (a caller cannot change stored entries by accident)', () => {
    const storage = new MemoryOutboxStorage();
    const box = new Outbox(storage, 'k');
    box.add(entry('a', 1));
    box.entries()[0]!.text = 'changed';
    expect(box.entries()[0]!.text).toBe('text a');
  });
});
