import { IdleTracker } from './idle-tracker';

describe(IdleTracker.name, () => {
  it('is due only after idleMs without use, counted from the last observation in use', () => {
    const tracker = new IdleTracker<string>(2_000);
    expect(tracker.observe('r', true, 0)).toBe(false);
    expect(tracker.observe('r', false, 1_000)).toBe(false);
    expect(tracker.observe('r', false, 1_999)).toBe(false);
    expect(tracker.observe('r', false, 2_000)).toBe(true);
  });

  it('restarts the idle time whenever the room is seen in use again', () => {
    const tracker = new IdleTracker<string>(2_000);
    tracker.observe('r', false, 0);
    expect(tracker.observe('r', true, 1_900)).toBe(false);
    expect(tracker.observe('r', false, 3_000)).toBe(false);
    expect(tracker.observe('r', false, 3_900)).toBe(true);
  });

  it('never unloads a room on its first observation, even an unused one', () => {
    const tracker = new IdleTracker<string>(0);
    expect(tracker.observe('new', false, 5_000)).toBe(false);
    expect(tracker.observe('new', false, 5_000)).toBe(true);
  });

  it('a room in use is never due, however long it runs', () => {
    const tracker = new IdleTracker<string>(1_000);
    for (let now = 0; now <= 100_000; now += 500) expect(tracker.observe('busy', true, now)).toBe(false);
  });

  it('touch counts as use', () => {
    const tracker = new IdleTracker<string>(1_000);
    tracker.observe('r', false, 0);
    tracker.touch('r', 900);
    expect(tracker.observe('r', false, 1_500)).toBe(false);
    expect(tracker.observe('r', false, 1_900)).toBe(true);
  });

  it('retain forgets rooms that are gone, so the tracker does not grow with churn', () => {
    const tracker = new IdleTracker<string>(1_000);
    for (let i = 0; i < 100; i++) tracker.observe(`room-${i}`, true, 0);
    tracker.retain(new Set(['room-1', 'room-2']));
    expect(tracker.size).toBe(2);
  });
});
