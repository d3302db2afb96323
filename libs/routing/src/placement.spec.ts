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

const ROOM_IDS = Array.from({ length: 1000 }, (_, i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`);

describe(pickLeastLoaded.name, () => {
  it('returns undefined when there is no gateway', () => {
    expect(pickLeastLoaded([])).toBeUndefined();
  });

  it('picks the gateway with the fewest assigned rooms', () => {
    const picked = pickLeastLoaded([gw('a', { assigned: 5 }), gw('b', { assigned: 2 }), gw('c', { assigned: 9 })]);
    expect(picked?.id).toBe('b');
  });

  it('uses assigned rooms, not heartbeat rooms, as the load', () => {
    const picked = pickLeastLoaded([gw('a', { assigned: 1, rooms: 90 }), gw('b', { assigned: 3, rooms: 0 })]);
    expect(picked?.id).toBe('a');
  });

  it('skips draining and gone gateways even when they are the least loaded', () => {
    const picked = pickLeastLoaded([
      gw('a', { status: 'draining', assigned: 0 }),
      gw('b', { status: 'gone', assigned: 0 }),
      gw('c', { assigned: 50 }),
    ]);
    expect(picked?.id).toBe('c');
  });

  it('returns undefined when every gateway is draining or gone', () => {
    expect(pickLeastLoaded([gw('a', { status: 'draining' }), gw('b', { status: 'gone' })])).toBeUndefined();
  });

  it('breaks a tie on assigned rooms by fewest connections', () => {
    const picked = pickLeastLoaded([gw('a', { assigned: 2, connections: 30 }), gw('b', { assigned: 2, connections: 10 })]);
    expect(picked?.id).toBe('b');
  });

  it('breaks a full tie by id, whatever the input order', () => {
    const list = [gw('gw-3', { assigned: 1 }), gw('gw-1', { assigned: 1 }), gw('gw-2', { assigned: 1 })];
    expect(pickLeastLoaded(list)?.id).toBe('gw-1');
    expect(pickLeastLoaded([...list].reverse())?.id).toBe('gw-1');
  });

  it('spreads a run of new rooms when the caller counts each assignment', () => {
    const gateways = [gw('a'), gw('b'), gw('c')];
    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const picked = pickLeastLoaded(gateways)!;
      picked.assigned += 1;
      counts.set(picked.id, (counts.get(picked.id) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ a: 10, b: 10, c: 10 });
  });
});

describe('placement capacity', () => {
  it('skips a gateway whose assigned count reached its capacity', () => {
    const picked = pickLeastLoaded([gw('a', { assigned: 40, capacity: 40 }), gw('b', { assigned: 41, capacity: 50 })]);
    expect(picked?.id).toBe('b');
  });

  it('skips a gateway whose loaded rooms reached its capacity, even with fewer assignments', () => {
    expect(pickLeastLoaded([gw('a', { assigned: 3, rooms: 40, capacity: 40 })])).toBeUndefined();
  });

  it('returns undefined when every live gateway is full, and places again once one has room', () => {
    const list = [gw('a', { assigned: 40, capacity: 40 }), gw('b', { assigned: 40, capacity: 40 })];
    expect(pickLeastLoaded(list)).toBeUndefined();
    list[1]!.assigned = 39;
    expect(pickLeastLoaded(list)?.id).toBe('b');
  });

  it('holds exactly capacity x gateways rooms when filled one by one', () => {
    const list = [gw('a', { capacity: 40 }), gw('b', { capacity: 40 })];
    let placed = 0;
    for (let picked = pickLeastLoaded(list); picked; picked = pickLeastLoaded(list)) {
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
