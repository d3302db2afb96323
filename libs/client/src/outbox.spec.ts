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

  it('a storage that fills up after a first write: the in-memory list is the outbox until a write succeeds', () => {
    const storage = new FakeStorage();
    const box = new Outbox(new WebStorageOutboxStorage(storage), 'k');
    box.add(entry('A', 1)); // fits
    storage.quota = JSON.stringify([entry('A', 1)]).length; // exactly full: [A] fits, [A,B] does not
    box.add(entry('B', 2)); // setItem throws; the stored value is still [A]
    expect(box.entries().map((e) => e.clientMsgId)).toEqual(['A', 'B']);
    expect(box.has('B')).toBe(true); // so B's ack is not ignored
    box.remove('A'); // [B] fits again: written, and B survives
    expect(box.entries().map((e) => e.clientMsgId)).toEqual(['B']);
    expect(JSON.parse(storage.items.get('durable-rooms.outbox.k')!)).toEqual([entry('B', 2)]);
    expect(new Outbox(new WebStorageOutboxStorage(storage), 'k').entries().map((e) => e.clientMsgId)).toEqual(['B']); // a reload sees B
    box.remove('B');
    expect(box.entries()).toEqual([]);
    expect(storage.items.size).toBe(0);
  });

  it('the first write that succeeds after a full storage writes the whole current list', () => {
    const storage = new FakeStorage();
    const box = new Outbox(new WebStorageOutboxStorage(storage), 'k');
    box.add(entry('A', 1));
    storage.quota = 60;
    box.add(entry('B', 2)); // fails: memory only
    storage.quota = Infinity; // space was freed elsewhere
    box.add(entry('C', 3));
    expect(JSON.parse(storage.items.get('durable-rooms.outbox.k')!).map((e: OutboxEntry) => e.clientMsgId)).toEqual(['A', 'B', 'C']);
    expect(new Outbox(new WebStorageOutboxStorage(storage), 'k').entries().map((e) => e.clientMsgId)).toEqual(['A', 'B', 'C']);
  });

  it('memory storage hands out copies (a caller cannot change stored entries by accident)', () => {
    const storage = new MemoryOutboxStorage();
    const box = new Outbox(storage, 'k');
    box.add(entry('a', 1));
    box.entries()[0]!.text = 'changed';
    expect(box.entries()[0]!.text).toBe('text a');
  });
});
