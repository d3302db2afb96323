import type { Lease } from '../../../../libs/persistence/src';
import { GroupCommitWriter } from './group-commit.writer';
import { RoomRegistry, type RoomLoadOutcome, type RoomRegistryDeps } from './room.registry';

/**
 * The load hook of the registry, with the room repository's lease as the only boundary: a lease
 * on an empty log loads without reading events, no lease is an unknown room, a throw is a failed
 * load (Postgres down).
 */
function registry(takeLease: () => Promise<Lease | null>) {
  const settled: Array<[RoomLoadOutcome, number]> = [];
  const unused = () => Promise.reject(new Error('not used by a load of an empty room'));
  const deps: RoomRegistryDeps = {
    gatewayId: 'gw-1',
    rooms: { takeLease, leaseState: unused },
    events: { readAfter: unused, readBefore: unused, findMessage: unused, findSent: unused },
    writer: new GroupCommitWriter({ appendBatch: unused }),
    channel: { event: () => undefined, moved: () => undefined, kicked: () => undefined },
    onLoadSettled: (outcome, ms) => settled.push([outcome, ms]),
  };
  return { rooms: new RoomRegistry(deps), settled };
}

describe(`${RoomRegistry.name} load hook`, () => {
  it('reports a load that took the lease as loaded, with its duration', async () => {
    const { rooms, settled } = registry(async () => ({ roomId: 'r1', name: 'one', epoch: 3, headSeq: 0 }));
    expect(await rooms.getOrLoad('r1')).not.toBeNull();
    expect(settled).toEqual([['loaded', expect.any(Number)]]);
    expect(settled[0]![1]).toBeGreaterThanOrEqual(0);
  });

  it('reports an unknown room as not_found', async () => {
    const { rooms, settled } = registry(async () => null);
    expect(await rooms.getOrLoad('r2')).toBeNull();
    expect(settled.map(([outcome]) => outcome)).toEqual(['not_found']);
  });

  it('reports a load that threw as failed and still throws it', async () => {
    const { rooms, settled } = registry(() => Promise.reject(new Error('postgres unreachable')));
    await expect(rooms.getOrLoad('r3')).rejects.toThrow('postgres unreachable');
    expect(settled.map(([outcome]) => outcome)).toEqual(['failed']);
  });

  it('reports one load for concurrent requests of the same room', async () => {
    const { rooms, settled } = registry(async () => ({ roomId: 'r4', name: 'four', epoch: 1, headSeq: 0 }));
    await Promise.all([rooms.getOrLoad('r4'), rooms.getOrLoad('r4'), rooms.getOrLoad('r4')]);
    expect(settled).toHaveLength(1);
  });
});
