import type { EventEnvelope } from '../../../../libs/domain/src';
import { estimateEnvelopeBytes, RecentEvents } from './recent-events';

function posted(seq: number, text: string): EventEnvelope {
  return { roomId: 'r', seq, type: 'message.posted', ts: '2026-01-01T00:00:00.000Z', actor: { id: 'u', username: 'u' }, data: { text } };
}

describe(RecentEvents.name, () => {
  it('keeps at most maxEvents envelopes, dropping the oldest', () => {
    const ring = new RecentEvents(3, 1_000_000);
    for (let seq = 1; seq <= 5; seq++) ring.push(posted(seq, 'hi'));
    expect(ring.size).toBe(3);
    expect(ring.oldestSeq).toBe(3);
    expect(ring.after(0).map((e) => e.seq)).toEqual([3, 4, 5]);
  });

  it('bounds the bytes held: long messages keep fewer envelopes than short ones', () => {
    const maxBytes = 20_000;
    const long = new RecentEvents(512, maxBytes);
    const short = new RecentEvents(512, maxBytes);
    for (let seq = 1; seq <= 200; seq++) {
      long.push(posted(seq, 'x'.repeat(4000)));
      short.push(posted(seq, 'x'));
    }
    expect(long.estimatedBytes).toBeLessThanOrEqual(maxBytes);
    expect(short.estimatedBytes).toBeLessThanOrEqual(maxBytes);
    expect(long.size).toBeLessThan(short.size);
    expect(long.size).toBe(Math.floor(maxBytes / estimateEnvelopeBytes(posted(1, 'x'.repeat(4000)))));
  });

  it('always keeps the newest envelope, even one larger than the budget', () => {
    const ring = new RecentEvents(10, 100);
    ring.push(posted(1, 'a'));
    ring.push(posted(2, 'y'.repeat(4000)));
    expect(ring.after(0).map((e) => e.seq)).toEqual([2]);
  });

  it('after(seq) returns only later envelopes, in order', () => {
    const ring = new RecentEvents();
    for (let seq = 1; seq <= 6; seq++) ring.push(posted(seq, String(seq)));
    expect(ring.after(4).map((e) => e.seq)).toEqual([5, 6]);
    expect(ring.after(6)).toEqual([]);
  });

  it('between(from, to) answers only when it holds every envelope of (from, to]', () => {
    const ring = new RecentEvents(4, 1_000_000);
    for (let seq = 1; seq <= 6; seq++) ring.push(posted(seq, String(seq)));
    // The ring holds 3..6.
    expect(ring.between(2, 6)!.map((e) => e.seq)).toEqual([3, 4, 5, 6]);
    expect(ring.between(4, 5)!.map((e) => e.seq)).toEqual([5]);
    expect(ring.between(1, 6)).toBeUndefined(); // 2 was dropped
    expect(ring.between(3, 7)).toBeUndefined(); // 7 was never pushed
    expect(ring.between(6, 6)).toEqual([]); // nothing asked for
    expect(new RecentEvents().between(0, 1)).toBeUndefined();
    expect(new RecentEvents().between(5, 5)).toEqual([]);
  });

  it('between() never answers from a ring with a gap: it leaves that to the log', () => {
    const ring = new RecentEvents();
    for (const seq of [1, 2, 4, 5]) ring.push(posted(seq, String(seq)));
    expect(ring.between(0, 4)).toBeUndefined();
    expect(ring.between(1, 5)).toBeUndefined();
  });
});
