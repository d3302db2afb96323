import { DedupWindow, dedupKey, MessageWindow } from './room-windows';

const ts = (i: number) => new Date(Date.UTC(2026, 10, 27) + i * 1_001).toISOString();

describe(DedupWindow.name, () => {
  it('answers every key it holds with its seq and exact ts, across ring growth and wrap-around', () => {
    const window = new DedupWindow(100);
    // 16 → 32 → 64 → 100 slots, then 150 more inserts that wrap the full ring.
    for (let i = 0; i < 250; i++) window.set(`k${i}`, 1_000 + i, ts(i));
    expect(window.size).toBe(100);
    for (let i = 0; i < 150; i++) expect(window.get(`k${i}`)).toBeUndefined();
    for (let i = 150; i < 250; i++) expect(window.get(`k${i}`)).toEqual({ seq: 1_000 + i, ts: ts(i) });
    expect([...window.keys()]).toEqual(Array.from({ length: 100 }, (_, j) => `k${150 + j}`));
  });

  it('keeps a ts that is not canonical ISO (microseconds) as its text, and forgets it on eviction', () => {
    const window = new DedupWindow(3);
    window.set('a', 1, '2026-11-27T10:00:00.123456Z');
    window.set('b', 2, ts(2));
    expect(window.get('a')).toEqual({ seq: 1, ts: '2026-11-27T10:00:00.123456Z' });
    const visited: Array<[string, number, number, string | undefined]> = [];
    window.forEach((key, seq, ms, text) => visited.push([key, seq, ms, text]));
    expect(visited).toEqual([
      ['a', 1, Number.NaN, '2026-11-27T10:00:00.123456Z'],
      ['b', 2, Date.parse(ts(2)), undefined],
    ]);
    for (const key of ['c', 'd', 'e']) window.set(key, 3, ts(3));
    expect(window.get('a')).toBeUndefined();
    // The slot 'a' used is reused by 'd': its old text must not leak into the new entry.
    expect(window.get('d')).toEqual({ seq: 3, ts: ts(3) });
  });

  it('a known key keeps its place and takes the new result, as Map#set does', () => {
    const window = new DedupWindow(2);
    window.set('a', 1, ts(1));
    window.set('b', 2, ts(2));
    window.set('a', 7, ts(7));
    expect([...window]).toEqual([
      ['a', { seq: 7, ts: ts(7) }],
      ['b', { seq: 2, ts: ts(2) }],
    ]);
    window.set('c', 3, ts(3));
    expect([...window.keys()]).toEqual(['b', 'c']);
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
});

describe(dedupKey.name, () => {
  it('joins actor and client message id with a newline (the stored snapshot key format)', () => {
    expect(dedupKey('u-1', 'c-1')).toBe('u-1\nc-1');
  });
});
