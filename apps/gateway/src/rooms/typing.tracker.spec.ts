import { TypingTracker } from './typing.tracker';

describe(TypingTracker.name, () => {
  const ALICE = { id: 'u-a', username: 'alice' };
  const BOB = { id: 'u-b', username: 'bob' };

  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('reports a change only when the set of typing users changes', () => {
    const changes: string[] = [];
    const typing = new TypingTracker((roomId) => changes.push(roomId), 5_000);
    expect(typing.start('r', ALICE)).toBe(true);
    expect(typing.start('r', ALICE)).toBe(false); // a renewal
    expect(typing.start('r', BOB)).toBe(true);
    expect(typing.users('r')).toEqual([ALICE, BOB]);
    expect(typing.stop('r', ALICE.id)).toBe(true);
    expect(typing.stop('r', ALICE.id)).toBe(false);
    expect(changes).toEqual(['r', 'r', 'r']);
  });

  it('lapses 5 s after the last renewal, and frees its memory', () => {
    const changes: string[] = [];
    const typing = new TypingTracker((roomId) => changes.push(roomId), 5_000);
    typing.start('r', ALICE);
    jest.advanceTimersByTime(4_000);
    typing.start('r', ALICE);
    jest.advanceTimersByTime(4_000);
    expect(typing.users('r')).toEqual([ALICE]);
    jest.advanceTimersByTime(1_001);
    expect(typing.users('r')).toEqual([]);
    expect(typing.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
    expect(changes).toEqual(['r', 'r']);
  });

  it('a stop clears the timer at once', () => {
    const typing = new TypingTracker(() => undefined, 5_000);
    typing.start('r', ALICE);
    typing.start('s', BOB);
    typing.stop('r', ALICE.id);
    expect(jest.getTimerCount()).toBe(1);
    typing.clear();
    expect(jest.getTimerCount()).toBe(0);
  });
});
