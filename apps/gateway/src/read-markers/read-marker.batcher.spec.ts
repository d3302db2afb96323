import { DomainError } from '../../../../libs/domain/src';
import type { ReadMark } from '../../../../libs/persistence/src';
import { ReadMarkerBatcher, type ReadMarkerStore } from './read-marker.batcher';

/** A store that keeps markers like the table does (GREATEST) and records each write. */
class FakeStore implements ReadMarkerStore {
  readonly writes: ReadMark[][] = [];
  readonly stored = new Map<string, number>();
  fail = false;
  async advance(marks: readonly ReadMark[]): Promise<ReadMark[]> {
    this.writes.push([...marks]);
    if (this.fail) throw new Error('db down');
    return marks.map((m) => {
      const key = `${m.userId}/${m.roomId}`;
      const seq = Math.max(this.stored.get(key) ?? 0, m.seq);
      this.stored.set(key, seq);
      return { ...m, seq };
    });
  }
}

describe(ReadMarkerBatcher.name, () => {
  it('coalesces marks per user and room into one write, each ack the stored marker', async () => {
    const store = new FakeStore();
    const batcher = new ReadMarkerBatcher(store, { flushMs: 10_000 });
    const acks = [batcher.mark('u1', 'r1', 3), batcher.mark('u1', 'r1', 5), batcher.mark('u1', 'r1', 4), batcher.mark('u2', 'r1', 2)];
    expect(batcher.size).toBe(2);
    await batcher.flush();
    expect(await Promise.all(acks)).toEqual([5, 5, 5, 2]);
    expect(store.writes).toEqual([[{ userId: 'u1', roomId: 'r1', seq: 5 }, { userId: 'u2', roomId: 'r1', seq: 2 }]]);
  });

  it('a lower mark later acks the higher marker already stored', async () => {
    const store = new FakeStore();
    const batcher = new ReadMarkerBatcher(store, { flushMs: 1 });
    expect(await batcher.mark('u', 'r', 9)).toBe(9);
    expect(await batcher.mark('u', 'r', 2)).toBe(9);
  });

  it('bounds memory: refuses new markers beyond maxPending and acks beyond maxWaitersPerMark', async () => {
    const batcher = new ReadMarkerBatcher(new FakeStore(), { flushMs: 10_000, maxPending: 2, maxWaitersPerMark: 2 });
    const ok = [batcher.mark('a', 'r', 1), batcher.mark('b', 'r', 1), batcher.mark('a', 'r', 2)];
    await expect(batcher.mark('c', 'r', 1)).rejects.toMatchObject({ code: 'rate_limited' });
    await expect(batcher.mark('a', 'r', 3)).rejects.toBeInstanceOf(DomainError);
    await batcher.flush();
    await expect(Promise.all(ok)).resolves.toEqual([2, 1, 2]);
    expect(batcher.size).toBe(0);
  });

  it('a failed write rejects its acks unavailable and the next write goes on', async () => {
    const store = new FakeStore();
    const batcher = new ReadMarkerBatcher(store, { flushMs: 10_000 });
    store.fail = true;
    const lost = batcher.mark('u', 'r', 4);
    await batcher.flush();
    await expect(lost).rejects.toMatchObject({ code: 'unavailable' });
    store.fail = false;
    const next = batcher.mark('u', 'r', 5);
    await batcher.flush();
    expect(await next).toBe(5);
  });
});
