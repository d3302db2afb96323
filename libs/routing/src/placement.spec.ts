import { hasRoomFor, pickLeastLoaded, rendezvousOwner, type GatewayInfo } from './placement';

function gw(id: string, over: Partial<GatewayInfo> = {}): GatewayInfo {
  return {
    id,
    url: `http://127.0.0.1/${id}`,
    status: 'active',
    rooms: 0,
    connections: 0,
    assigned: 0,
    capacity: 100,
    lastSeenAt: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}

const ROOM = '00000000-0000-4000-8000-00000000ffff';
const ROOM_IDS = Array.from({ length: 1000 }, (_, i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`);

/** How many of `rooms` each gateway gets when each room is placed on the list `gateways()` returns. */
function countPicks(rooms: readonly string[], gateways: () => GatewayInfo[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const room of rooms) {
    const picked = pickLeastLoaded(gateways(), room);
    if (picked) counts.set(picked.id, (counts.get(picked.id) ?? 0) + 1);
  }
  return counts;
}

describe(pickLeastLoaded.name, () => {
  it('returns undefined when there is no gateway', () => {
    expect(pickLeastLoaded([], ROOM)).toBeUndefined();
  });

  it('picks the gateway with the fewest assigned rooms', () => {
    const picked = pickLeastLoaded([gw('a', { assigned: 5 }), gw('b', { assigned: 2 }), gw('c', { assigned: 9 })], ROOM);
    expect(picked?.id).toBe('b');
  });

  it('uses assigned rooms, not heartbeat rooms, as the load', () => {
    const picked = pickLeastLoaded([gw('a', { assigned: 1, rooms: 90 }), gw('b', { assigned: 3, rooms: 0 })], ROOM);
    expect(picked?.id).toBe('a');
  });

  it('skips draining and gone gateways even when they are the least loaded', () => {
    const picked = pickLeastLoaded(
      [gw('a', { status: 'draining', assigned: 0 }), gw('b', { status: 'gone', assigned: 0 }), gw('c', { assigned: 50 })],
      ROOM,
    );
    expect(picked?.id).toBe('c');
  });

  it('returns undefined when every gateway is draining or gone', () => {
    expect(pickLeastLoaded([gw('a', { status: 'draining' }), gw('b', { status: 'gone' })], ROOM)).toBeUndefined();
  });

  it('breaks a tie on assigned rooms by rendezvous on the room id, not by connections or id', () => {
    const list = [gw('gw-1', { assigned: 2, connections: 0 }), gw('gw-2', { assigned: 2, connections: 50 }), gw('gw-3', { assigned: 2, connections: 90 })];
    for (const room of ROOM_IDS.slice(0, 50)) {
      const expected = rendezvousOwner(room, ['gw-1', 'gw-2', 'gw-3']);
      expect(pickLeastLoaded(list, room)?.id).toBe(expected);
      expect(pickLeastLoaded([...list].reverse(), room)?.id).toBe(expected);
    }
  });

  it('hashes only among the least loaded: a busier gateway never wins a tie it is not in', () => {
    const list = [gw('a', { assigned: 3 }), gw('b', { assigned: 3 }), gw('c', { assigned: 4 })];
    const counts = countPicks(ROOM_IDS, () => list);
    expect(counts.get('c') ?? 0).toBe(0);
    expect(counts.get('a')).toBeGreaterThan(0);
    expect(counts.get('b')).toBeGreaterThan(0);
  });

  it('spreads simultaneous placements that all read the same counts over the equals', () => {
    // Every scheduler sees the same snapshot (no assignment of the others is visible yet).
    const snapshot = ['gw-1', 'gw-2', 'gw-3', 'gw-4', 'gw-5'].map((id) => gw(id, { assigned: 7, connections: Number(id.slice(3)) * 10 }));
    const counts = countPicks(ROOM_IDS, () => snapshot);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(1000);
    // 1000 rooms over 5 equals: 200 expected; a fixed tie-break would put all 1000 on one.
    for (const id of ['gw-1', 'gw-2', 'gw-3', 'gw-4', 'gw-5']) {
      expect(counts.get(id)).toBeGreaterThan(150);
      expect(counts.get(id)).toBeLessThan(250);
    }
  });

  it("keeps one scheduler's sequence even when it counts each assignment", () => {
    const gateways = [gw('a'), gw('b'), gw('c')];
    const counts = new Map<string, number>();
    ROOM_IDS.slice(0, 300).forEach((room, i) => {
      const picked = pickLeastLoaded(gateways, room)!;
      picked.assigned += 1;
      counts.set(picked.id, (counts.get(picked.id) ?? 0) + 1);
      // After every full round the gateways are level again.
      if ((i + 1) % 3 === 0) expect(new Set(gateways.map((g) => g.assigned)).size).toBe(1);
    });
    expect(Object.fromEntries(counts)).toEqual({ a: 100, b: 100, c: 100 });
  });
});

describe('placement capacity', () => {
  it('skips a gateway whose assigned count reached its capacity', () => {
    const picked = pickLeastLoaded([gw('a', { assigned: 40, capacity: 40 }), gw('b', { assigned: 41, capacity: 50 })], ROOM);
    expect(picked?.id).toBe('b');
  });

  it('skips a gateway whose loaded rooms reached its capacity, even with fewer assignments', () => {
    expect(pickLeastLoaded([gw('a', { assigned: 3, rooms: 40, capacity: 40 })], ROOM)).toBeUndefined();
  });

  it('returns undefined when every live gateway is full, and places again once one has room', () => {
    const list = [gw('a', { assigned: 40, capacity: 40 }), gw('b', { assigned: 40, capacity: 40 })];
    expect(pickLeastLoaded(list, ROOM)).toBeUndefined();
    list[1]!.assigned = 39;
    expect(pickLeastLoaded(list, ROOM)?.id).toBe('b');
  });

  it('holds exactly capacity x gateways rooms when filled one by one', () => {
    const list = [gw('a', { capacity: 40 }), gw('b', { capacity: 40 })];
    let placed = 0;
    for (let picked = pickLeastLoaded(list, ROOM); picked; picked = pickLeastLoaded(list, ROOM)) {
      picked.assigned += 1;
      placed += 1;
    }
    expect(placed).toBe(80);
    expect(hasRoomFor(list[0]!)).toBe(false);
  });
});

describe(rendezvousOwner.name, () => {
  it('returns undefined without gateways', () => {
    expect(rendezvousOwner('room', [])).toBeUndefined();
  });

  it('is deterministic and independent of list order', () => {
    const ids = ['gw-1', 'gw-2', 'gw-3'];
    for (const room of ROOM_IDS.slice(0, 100)) {
      const owner = rendezvousOwner(room, ids);
      expect(ids).toContain(owner);
      expect(rendezvousOwner(room, ids)).toBe(owner);
      expect(rendezvousOwner(room, [...ids].reverse())).toBe(owner);
    }
  });

  it.each([[['gw-1', 'gw-2']], [['gw-1', 'gw-2', 'gw-3']]])('spreads 1000 rooms fairly over %p', (ids) => {
    const counts = new Map<string, number>(ids.map((id) => [id, 0]));
    for (const room of ROOM_IDS) {
      const owner = rendezvousOwner(room, ids)!;
      counts.set(owner, counts.get(owner)! + 1);
    }
    for (const id of ids) expect(counts.get(id)!).toBeGreaterThan(200);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(1000);
  });

  it("removing a gateway moves only that gateway's rooms", () => {
    const all = ['gw-1', 'gw-2', 'gw-3'];
    const remaining = ['gw-1', 'gw-3'];
    let moved = 0;
    for (const room of ROOM_IDS) {
      const before = rendezvousOwner(room, all);
      const after = rendezvousOwner(room, remaining);
      if (before === 'gw-2') {
        moved += 1;
        expect(remaining).toContain(after);
      } else {
        expect(after).toBe(before);
      }
    }
    expect(moved).toBeGreaterThan(200);
  });

  it('adding a gateway moves rooms only onto the new gateway', () => {
    const before = ['gw-1', 'gw-2'];
    const after = ['gw-1', 'gw-2', 'gw-new'];
    for (const room of ROOM_IDS) {
      const next = rendezvousOwner(room, after);
      if (next !== 'gw-new') expect(next).toBe(rendezvousOwner(room, before));
    }
  });
});
