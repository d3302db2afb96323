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
});
