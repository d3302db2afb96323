import { InOrderDelivery } from './in-order-delivery.js';

const ev = (seq: number) => ({ seq, tag: `e${seq}` });
const seqs = (events: Array<{ seq: number }>) => events.map((e) => e.seq);

describe(InOrderDelivery.name, () => {
  it('delivers contiguous events at once and ignores repeats (by seq)', () => {
    const d = new InOrderDelivery<ReturnType<typeof ev>>(0);
    expect(seqs(d.accept([ev(1), ev(2), ev(3)]).deliver)).toEqual([1, 2, 3]);
    const again = d.accept([ev(2), ev(3), ev(4)]);
    expect(seqs(again.deliver)).toEqual([4]);
    expect(again.duplicates).toBe(2);
    expect(d.lastSeq).toBe(4);
    expect(d.gap).toBeUndefined();
  });

  it('holds events behind a gap, reports the gap, and releases them in order once it fills', () => {
    const d = new InOrderDelivery<ReturnType<typeof ev>>(10);
    expect(d.accept([ev(14), ev(13)]).deliver).toEqual([]);
    expect(d.gap).toEqual({ from: 11, to: 14 });
    expect(d.buffered).toBe(2);
    expect(seqs(d.accept([ev(12)]).deliver)).toEqual([]);
    expect(seqs(d.accept([ev(11)]).deliver)).toEqual([11, 12, 13, 14]);
    expect(d.gap).toBeUndefined();
    expect(d.buffered).toBe(0);
  });

  it('a repeat of a buffered event is a duplicate, not a second copy', () => {
    const d = new InOrderDelivery<ReturnType<typeof ev>>(0);
    d.accept([ev(3)]);
    expect(d.accept([ev(3)]).duplicates).toBe(1);
    expect(seqs(d.accept([ev(1), ev(2)]).deliver)).toEqual([1, 2, 3]);
  });

  it('noteHead makes a known head a gap to fill; skipTo moves the start without delivering', () => {
    const d = new InOrderDelivery<ReturnType<typeof ev>>(0);
    d.noteHead(5);
    expect(d.gap).toEqual({ from: 1, to: 5 });
    d.accept([ev(7)]);
    d.skipTo(5);
    expect(d.lastSeq).toBe(5);
    expect(seqs(d.accept([ev(3), ev(6)]).deliver)).toEqual([6, 7]);
    d.skipTo(2); // never back
    expect(d.lastSeq).toBe(7);
  });

  it('is bounded: a full buffer drops the furthest-ahead events, which the gap still reports', () => {
    const d = new InOrderDelivery<ReturnType<typeof ev>>(0, 3);
    const r = d.accept([ev(10), ev(9), ev(8), ev(7), ev(20)]);
    expect(r.dropped).toBe(2); // 10 evicted for 7, then 20 refused
    expect(d.buffered).toBe(3);
    expect(d.gap).toEqual({ from: 1, to: 20 });
    // The gap fill brings 1..20 again: each delivered once, in order.
    const filled = d.accept(Array.from({ length: 20 }, (_, i) => ev(i + 1)));
    expect(seqs(filled.deliver)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(d.buffered).toBe(0);
  });

  it('random arrival orders with overlaps deliver 1..N exactly once, in order, within the bound', () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 50; round++) {
      const n = 200;
      const d = new InOrderDelivery<ReturnType<typeof ev>>(0, 16);
      const delivered: number[] = [];
      // Live stream in order, plus overlapping "history pages" replayed at random points, plus
      // a locally shuffled window (a move's backlog racing live events).
      const arrivals: number[] = [];
      for (let s = 1; s <= n; s++) {
        arrivals.push(s);
        if (random() < 0.1) for (let k = Math.max(1, s - 20); k <= s; k++) arrivals.push(k);
      }
      for (let i = 0; i < arrivals.length - 1; i++) {
        if (random() < 0.3) [arrivals[i], arrivals[i + 1]] = [arrivals[i + 1]!, arrivals[i]!];
      }
      for (const s of arrivals) {
        delivered.push(...seqs(d.accept([ev(s)]).deliver));
        expect(d.buffered).toBeLessThanOrEqual(16);
      }
      // Whatever was dropped, one gap fill from lastSeq completes it.
      if (d.gap) delivered.push(...seqs(d.accept(Array.from({ length: n - d.lastSeq }, (_, i) => ev(d.lastSeq + 1 + i))).deliver));
      expect(delivered).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    }
  });

  it('refuses a nonsense start', () => {
    expect(() => new InOrderDelivery(-1)).toThrow(RangeError);
    expect(() => new InOrderDelivery(0, 0)).toThrow(RangeError);
  });
});
