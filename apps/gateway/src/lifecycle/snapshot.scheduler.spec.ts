import type { RoomActor } from '../rooms/room.actor';
import { loadPhase, MAX_CONCURRENT_SNAPSHOTS, pickDue, SnapshotScheduler, type SnapshotPolicy } from './snapshot.scheduler';

const POLICY: SnapshotPolicy = { everyEvents: 100, intervalMs: 30_000 };
const NOW = 1_000_000;

const room = (name: string, unsnapshotted: number, lastSnapshotAt: number) => ({ name, roomId: name, unsnapshotted, lastSnapshotAt, snapshottedSinceLoad: true });

describe(pickDue.name, () => {
  it('starts only due rooms: a full tail, or an old snapshot with at least one new event', () => {
    const rooms = [
      room('full tail', 100, NOW - 1),
      room('short tail, recent', 99, NOW - 29_999),
      room('short tail, old', 1, NOW - 30_000),
      room('nothing new, old', 0, NOW - 90_000),
    ];
    expect(pickDue(POLICY, rooms, NOW, 10)).toEqual({ start: [rooms[0], rooms[2]], waiting: 0 });
  });

  it('starts at most `slots`, oldest snapshot first, and counts the rest as waiting', () => {
    const rooms = [
      room('b', 500, NOW - 2_000),
      room('d', 500, NOW - 1_000),
      room('a', 500, NOW - 40_000),
      room('e', 5, NOW - 35_000),
      room('c', 500, NOW - 35_000),
    ];
    const { start, waiting } = pickDue(POLICY, rooms, NOW, 3);
    // c and e share a time: the longer tail goes first.
    expect(start.map((r) => r.name)).toEqual(['a', 'c', 'e']);
    expect(waiting).toBe(2);
  });

  it('starts nothing without a free slot', () => {
    const rooms = [room('a', 500, NOW), room('b', 500, NOW)];
    expect(pickDue(POLICY, rooms, NOW, 0)).toEqual({ start: [], waiting: 2 });
    expect(pickDue(POLICY, rooms, NOW, -1)).toEqual({ start: [], waiting: 2 });
  });

  it('leaves every room to a later sweep when none is due', () => {
    expect(pickDue(POLICY, [room('a', 0, 0), room('b', 3, NOW)], NOW, 4)).toEqual({ start: [], waiting: 0 });
  });
});

describe(loadPhase.name, () => {
  const ids = Array.from({ length: 1_000 }, (_, i) => `0f8c6a52-33a4-4d0a-9a55-${String(i).padStart(12, '0')}`);

  it('is a fixed fraction in [0, 0.5), spread over the range by room id', () => {
    const phases = ids.map((id) => loadPhase(id));
    expect(phases).toEqual(ids.map((id) => loadPhase(id)));
    for (const p of phases) expect(p >= 0 && p < 0.5).toBe(true);
    expect(new Set(phases).size).toBe(ids.length);
    // Each fifth of the range holds 10-30 % of the rooms (an even spread holds 20 %).
    for (let fifth = 0; fifth < 5; fifth++) {
      const share = phases.filter((p) => Math.floor(p * 10) === fifth).length / phases.length;
      expect(share).toBeGreaterThan(0.1);
      expect(share).toBeLessThan(0.3);
    }
  });

  it('makes rooms loaded together, written at one rate, fall due at different events; then every everyEvents', () => {
    const rooms = ids.slice(0, 20).map((id) => ({ ...room(id, 0, NOW), snapshottedSinceLoad: false }));
    const firstDueAt = new Map<string, number>();
    for (let events = 1; events <= POLICY.everyEvents; events++) {
      for (const r of rooms) r.unsnapshotted = events;
      for (const r of pickDue(POLICY, rooms, NOW, rooms.length).start) if (!firstDueAt.has(r.roomId)) firstDueAt.set(r.roomId, events);
    }
    // Every room falls due by everyEvents (its tail never grows past it), none before half of it...
    expect(firstDueAt.size).toBe(rooms.length);
    for (const r of rooms) expect(firstDueAt.get(r.roomId)).toBe(Math.ceil(POLICY.everyEvents * (1 - loadPhase(r.roomId))));
    for (const at of firstDueAt.values()) expect(at).toBeGreaterThan(POLICY.everyEvents / 2);
    // ...and not together: 20 rooms over at least 12 different events.
    expect(new Set(firstDueAt.values()).size).toBeGreaterThanOrEqual(12);
    // Once a room has a snapshot of its own, the next one takes everyEvents.
    const after = { ...rooms[0]!, snapshottedSinceLoad: true, unsnapshotted: POLICY.everyEvents - 1 };
    expect(pickDue(POLICY, [after], NOW, 1).start).toEqual([]);
    after.unsnapshotted = POLICY.everyEvents;
    expect(pickDue(POLICY, [after], NOW, 1).start).toEqual([after]);
  });

  it('is off when the policy says so (the snapshot-wave bench): rooms loaded together fall due together', () => {
    const rooms = ids.slice(0, 20).map((id) => ({ ...room(id, POLICY.everyEvents - 1, NOW), snapshottedSinceLoad: false }));
    const off = { ...POLICY, loadPhase: false };
    expect(pickDue(off, rooms, NOW, rooms.length).start).toEqual([]);
    for (const r of rooms) r.unsnapshotted = POLICY.everyEvents;
    expect(pickDue(off, rooms, NOW, rooms.length).start).toEqual(rooms);
    for (const r of rooms) r.unsnapshotted = POLICY.everyEvents - 1;
    expect(pickDue(POLICY, rooms, NOW, rooms.length).start.length).toBeGreaterThan(15);
  });

  it('spreads the interval the same way: quiet rooms loaded together do not all snapshot at intervalMs', () => {
    const rooms = ids.slice(0, 20).map((id) => ({ ...room(id, 1, NOW), snapshottedSinceLoad: false }));
    const firstDueAfterMs = new Map<string, number>();
    for (let ms = 0; ms <= POLICY.intervalMs; ms += 250) {
      for (const r of pickDue(POLICY, rooms, NOW + ms, rooms.length).start) if (!firstDueAfterMs.has(r.roomId)) firstDueAfterMs.set(r.roomId, ms);
    }
    expect(firstDueAfterMs.size).toBe(rooms.length);
    for (const at of firstDueAfterMs.values()) expect(at).toBeGreaterThanOrEqual(POLICY.intervalMs / 2);
    expect(new Set(firstDueAfterMs.values()).size).toBeGreaterThanOrEqual(12);
    const after = { ...rooms[0]!, snapshottedSinceLoad: true };
    expect(pickDue(POLICY, [after], NOW + POLICY.intervalMs - 1, 1).start).toEqual([]);
    expect(pickDue(POLICY, [after], NOW + POLICY.intervalMs, 1).start).toEqual([after]);
  });
});

/** A room whose snapshot() finishes when the test says so. */
class FakeRoom {
  readonly roomId: string;
  isLost = false;
  snapshottedSinceLoad = true;
  unsnapshotted = 1_000;
  lastSnapshotAt = 0;
  snapshots = 0;
  finish: (() => void) | undefined;

  constructor(n: number) {
    this.roomId = `room-${n}`;
    this.lastSnapshotAt = n; // room-0 is the oldest
  }

  snapshot(): Promise<'saved'> {
    this.snapshots++;
    return new Promise((resolve) => {
      this.finish = () => {
        this.unsnapshotted = 0;
        this.lastSnapshotAt = Date.now();
        this.finish = undefined;
        resolve('saved');
      };
    });
  }
}

describe(SnapshotScheduler.name, () => {
  beforeEach(() => jest.useFakeTimers({ now: 5_000_000 }));
  afterEach(() => jest.useRealTimers());

  function schedulerOver(rooms: FakeRoom[], maxConcurrent?: number) {
    const registry = { all: () => rooms as unknown as RoomActor[] };
    return new SnapshotScheduler(registry, { everyEvents: 100, intervalMs: 60_000 }, maxConcurrent);
  }

  it(`runs at most ${MAX_CONCURRENT_SNAPSHOTS} snapshots at once, oldest first, and refills a freed slot without waiting for the next sweep`, async () => {
    const rooms = Array.from({ length: 10 }, (_, i) => new FakeRoom(i));
    const scheduler = schedulerOver(rooms);
    scheduler.start();
    try {
      await jest.advanceTimersByTimeAsync(250);
      const running = () => rooms.filter((r) => r.finish).map((r) => r.roomId);
      expect(running()).toEqual(['room-0', 'room-1', 'room-2', 'room-3']);
      expect(scheduler.inFlight).toBe(MAX_CONCURRENT_SNAPSHOTS);

      // Later sweeps start nothing while every slot is taken.
      await jest.advanceTimersByTimeAsync(1_000);
      expect(running()).toHaveLength(MAX_CONCURRENT_SNAPSHOTS);

      rooms[1]!.finish!();
      await jest.advanceTimersByTimeAsync(0); // the immediate refill, well before the next sweep
      expect(running()).toEqual(['room-0', 'room-2', 'room-3', 'room-4']);

      for (let round = 0; round < 5; round++) {
        for (const r of rooms) r.finish?.();
        await jest.advanceTimersByTimeAsync(0);
        expect(scheduler.inFlight).toBeLessThanOrEqual(MAX_CONCURRENT_SNAPSHOTS);
      }
      expect(rooms.map((r) => r.snapshots)).toEqual(rooms.map(() => 1));
      expect(scheduler.stats.saved).toBe(10);
    } finally {
      scheduler.stop();
    }
  });

  it('with an unbounded limit (the bench\'s "before") starts every due room in one sweep', async () => {
    const rooms = Array.from({ length: 30 }, (_, i) => new FakeRoom(i));
    const scheduler = schedulerOver(rooms, Infinity);
    scheduler.start();
    try {
      await jest.advanceTimersByTimeAsync(250);
      expect(scheduler.inFlight).toBe(30);
    } finally {
      scheduler.stop();
    }
  });
});
