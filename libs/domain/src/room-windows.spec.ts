import { dedupHash, dedupHashHex, dedupHashOut } from './dedup-hash';
import { DedupWindow, dedupKey, MessageWindow, SeqQueue } from './room-windows';

const ts = (i: number) => new Date(Date.UTC(2026, 10, 27) + i * 1_001).toISOString();

/** The window's fingerprint of (actor, client message id), as hex (its iterator's key form). */
function hexOf(actorId: string, clientMsgId: string): string {
  dedupHash(actorId, clientMsgId);
  return dedupHashHex(dedupHashOut.hi, dedupHashOut.lo);
}

describe(DedupWindow.name, () => {
  it('answers every send it holds with its seq and exact ts, across ring growth and wrap-around', () => {
    const window = new DedupWindow(100);
    // 16 → 32 → 64 → 100 slots, then 150 more inserts that wrap the full ring.
    for (let i = 0; i < 250; i++) window.set('u1', `k${i}`, 1_000 + i, ts(i));
    expect(window.size).toBe(100);
    for (let i = 0; i < 150; i++) expect(window.get('u1', `k${i}`)).toBeUndefined();
    for (let i = 150; i < 250; i++) expect(window.get('u1', `k${i}`)).toEqual({ seq: 1_000 + i, ts: ts(i) });
    expect([...window].map(([key]) => key)).toEqual(Array.from({ length: 100 }, (_, j) => hexOf('u1', `k${150 + j}`)));
  });

  it('keeps actors apart: the same client message id from two users is two entries', () => {
    const window = new DedupWindow(10);
    window.set('alice', 'same', 2, ts(2));
    expect(window.has('alice', 'same')).toBe(true);
    expect(window.has('bob', 'same')).toBe(false);
    window.set('bob', 'same', 3, ts(3));
    expect(window.get('alice', 'same')).toEqual({ seq: 2, ts: ts(2) });
    expect(window.get('bob', 'same')).toEqual({ seq: 3, ts: ts(3) });
    expect(window.size).toBe(2);
  });

  it('keeps a ts that is not canonical ISO (microseconds) as its text, and forgets it on eviction', () => {
    const window = new DedupWindow(3);
    window.set('u', 'a', 1, '2026-11-27T10:00:00.123456Z');
    window.set('u', 'b', 2, ts(2));
    expect(window.get('u', 'a')).toEqual({ seq: 1, ts: '2026-11-27T10:00:00.123456Z' });
    const visited: Array<[string, number, number, string | undefined]> = [];
    window.forEach((hi, lo, seq, ms, text) => visited.push([dedupHashHex(hi, lo), seq, ms, text]));
    expect(visited).toEqual([
      [hexOf('u', 'a'), 1, Number.NaN, '2026-11-27T10:00:00.123456Z'],
      [hexOf('u', 'b'), 2, Date.parse(ts(2)), undefined],
    ]);
    for (const key of ['c', 'd', 'e']) window.set('u', key, 3, ts(3));
    expect(window.get('u', 'a')).toBeUndefined();
    // The ordinal 'a' used is gone: its old text must not leak into a later entry.
    expect(window.get('u', 'd')).toEqual({ seq: 3, ts: ts(3) });
    expect(window.get('u', 'e')).toEqual({ seq: 3, ts: ts(3) });
  });

  it('a known send keeps its place and takes the new result, as Map#set does', () => {
    const window = new DedupWindow(2);
    window.set('u', 'a', 1, ts(1));
    window.set('u', 'b', 2, ts(2));
    window.set('u', 'a', 7, ts(7));
    expect([...window]).toEqual([
      [hexOf('u', 'a'), { seq: 7, ts: ts(7) }],
      [hexOf('u', 'b'), { seq: 2, ts: ts(2) }],
    ]);
    window.set('u', 'c', 3, ts(3));
    expect([...window].map(([key]) => key)).toEqual([hexOf('u', 'b'), hexOf('u', 'c')]);
  });

  it('keeps long probe runs findable through eviction (fingerprints that share a home cell)', () => {
    // The first 40 fingerprints all probe from cell 0 of the index (128 cells once the ring holds
    // 40), the later ones from cells 124–127 and 0–3 in a scrambled order, so their runs wrap
    // around the end and mix with runs that start after the wrap.
    // Every eviction opens a hole that a new entry does not fill: the run must shift back over it,
    // or the keys behind the hole vanish.
    const window = new DedupWindow(40);
    const lo = (i: number) => (i * 4096 + (i < 40 ? 0 : (124 + (Math.imul(i, 2654435761) >>> 29)) & 127)) >>> 0;
    for (let i = 0; i < 200; i++) {
      window.setHashed(i + 1, lo(i), i, ts(i));
      const held = Math.min(i + 1, 40);
      for (let j = 0; j <= i; j++) expect(window.getHashed(j + 1, lo(j))?.seq).toBe(j > i - held ? j : undefined);
    }
    // A held fingerprint is updated in place, not added again.
    window.setHashed(180, lo(179), 999, ts(999));
    expect(window.size).toBe(40);
    expect(window.getHashed(180, lo(179))).toEqual({ seq: 999, ts: ts(999) });
    expect(window.getHashed(161, lo(160))?.seq).toBe(160);
  });

  it('matches a Map of the same sends under random churn (lookups, updates, eviction, growth)', () => {
    let seed = 42;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const limit = 300;
    const window = new DedupWindow(limit);
    const model = new Map<string, number>();
    for (let step = 0; step < 20_000; step++) {
      const actor = `u${Math.floor(random() * 5)}`;
      const id = `c${Math.floor(random() * 2_000)}`;
      const key = `${actor}|${id}`;
      if (random() < 0.6) {
        window.set(actor, id, step, ts(step));
        if (!model.has(key) && model.size === limit) model.delete(model.keys().next().value!);
        model.set(key, step);
      } else {
        expect(window.get(actor, id)?.seq).toBe(model.get(key));
      }
    }
    expect(window.size).toBe(model.size);
    expect([...window].map(([, ref]) => ref.seq)).toEqual([...model.values()]);
  });

  it('rejects a limit that is not a positive integer', () => {
    expect(() => new DedupWindow(0)).toThrow(RangeError);
    expect(() => new DedupWindow(2.5)).toThrow(RangeError);
  });
});

describe(MessageWindow.name, () => {
  it('evicts the oldest messages, their deletion marks with them', () => {
    const window = new MessageWindow(3);
    window.add(1, 'u1');
    window.add(2, null, true);
    window.add(3, 'u2');
    expect(window.markDeleted(3)).toBe(true);
    window.add(4, 'u1');
    window.add(5, 'u1');
    expect([...window]).toEqual([
      [3, { authorId: 'u2', deleted: true }],
      [4, { authorId: 'u1', deleted: false }],
      [5, { authorId: 'u1', deleted: false }],
    ]);
    expect(window.get(2)).toBeUndefined();
    expect(window.markDeleted(2)).toBe(false);
    expect(window.oldestSeq()).toBe(3);
    // Seq 2 left with its mark: re-adding it (a replay after a reset) starts undeleted.
    window.add(2, 'u3');
    expect(window.get(2)).toEqual({ authorId: 'u3', deleted: false });
  });

  it('keeps exactly the last `limit` messages when one is added again, and evicts in insertion order', () => {
    const window = new MessageWindow(3);
    for (const seq of [1, 2, 3]) window.add(seq, 'u1');
    window.add(2, 'u2'); // already held: its author changes, its place does not
    for (let seq = 4; seq <= 9; seq++) {
      window.add(seq, 'u1');
      expect(window.size).toBe(3);
      expect([...window.keys()]).toEqual([seq - 2, seq - 1, seq]);
      expect(window.oldestSeq()).toBe(seq - 2);
    }
  });

  it('answers oldestSeq in insertion order through a long churn (the order is its own queue, not the Map)', () => {
    const window = new MessageWindow(50);
    for (let seq = 1; seq <= 10_000; seq++) {
      window.add(seq, seq % 3 ? 'u1' : null);
      expect(window.oldestSeq()).toBe(Math.max(1, seq - 49));
    }
    expect(window.size).toBe(50);
  });
});

describe(SeqQueue.name, () => {
  it('is first in, first out across growth and wrap-around, like an array', () => {
    let seed = 11;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const queue = new SeqQueue();
    const model: number[] = [];
    let next = 1;
    for (let step = 0; step < 20_000; step++) {
      if (model.length === 0 || random() < 0.55) {
        queue.push(next);
        model.push(next++);
      } else {
        expect(queue.first()).toBe(model[0]);
        expect(queue.shift()).toBe(model.shift());
      }
      expect(queue.size).toBe(model.length);
    }
    while (model.length > 0) expect(queue.shift()).toBe(model.shift());
  });
});

describe(dedupKey.name, () => {
  it('joins actor and client message id with a newline (the in-flight key, and formats 1–3’s snapshot key)', () => {
    expect(dedupKey('u-1', 'c-1')).toBe('u-1\nc-1');
  });
});
