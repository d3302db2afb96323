import type { RoomActor } from '../rooms/room.actor';
import { MAX_CONCURRENT_SNAPSHOTS, pickDue, SnapshotScheduler, type SnapshotPolicy } from './snapshot.scheduler';

const POLICY: SnapshotPolicy = { everyEvents: 100, intervalMs: 30_000 };
const NOW = 1_000_000;

const room = (name: string, unsnapshotted: number, lastSnapshotAt: number) => ({ name, unsnapshotted, lastSnapshotAt });

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

/** A room whose snapshot() finishes when the test says so. */
class FakeRoom {
  readonly roomId: string;
  isLost = false;
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
