/**
 * Scenario 7 of the comparison bench (issue 9): what an idle loaded room, a hibernated room and a
 * connected socket cost one gateway. The loaded-room and socket readings are bench/footprint.ts
 * (the fleet bench's) on the comparison gateway, restarted empty with its inspector open; the
 * hibernated reading restarts it once more with a short ROOM_IDLE_MS, loads rooms, lets every one
 * of them snapshot and unload, and compares the heap after a full GC with the empty gateway's.
 */
import { performance } from 'node:perf_hooks';
import { InspectorClient, inspectorUrlFrom } from '../test/support/inspector';
import { readGatewayGauges } from '../test/support/gateway-gauges';
import { waitFor } from '../test/support/processes';
import { verdict } from './compare';
import type { CompareContext, CompareScenario } from './compare-scenarios';
import { type FootprintParams, reading, runFootprint } from './footprint';
import { closeAll, enterRoom, type Figure, mapLimit, round } from './lib';

export const MEMORY_PARAMS: FootprintParams = { rooms: 1_000, historyMessages: 20, sockets: 1_000, socketsPerRoom: 10, loadMembers: 20, inFlight: 4, loadSeconds: 5, concurrency: 16 };
const HIBERNATED = { warmupRooms: 100, rooms: 500, historyMessages: 20, idleMs: '1000' };

/** `n` rooms created, given some history, left, and waited for until every one is unloaded; ms taken. */
async function hibernateWave(ctx: CompareContext, gateway: { url: string }, n: number, tag: string): Promise<number> {
  const at = performance.now();
  await mapLimit(Array.from({ length: n }, (_, i) => i), 16, async (i) => {
    const user = ctx.users[i % ctx.users.length]!;
    const room = await ctx.api.createRoom(user.token, `cmp-s7-${tag} ${i}`);
    const { member } = await enterRoom(ctx.api, user, room.id, i);
    for (let k = 0; k < HIBERNATED.historyMessages; k++) {
      const ack = await member.socket.timeout(20_000).emitWithAck('message:send', { clientMsgId: `${ctx.runId}-${tag}-${i}-${k}`, text: `history message ${k} of a room that will hibernate` });
      if (!ack.ok) throw new Error(`hibernating room send: ${ack.error.code}`);
    }
    closeAll([member]);
  });
  await waitFor('every room hibernated (unloaded)', async () => (await readGatewayGauges(gateway.url)).roomsLoaded === 0, 180_000, 500);
  return performance.now() - at;
}

/** Restarts the comparison gateway with `env` changes (empty, nothing loaded) and opens its inspector. */
async function freshGateway(ctx: CompareContext, env: Record<string, string>): Promise<{ inspector: InspectorClient; gateway: { id: string; url: string } }> {
  Object.assign(ctx.stackEnv, env);
  const gw = ctx.stack.gateways[0]!;
  await gw.proc.stop(60_000);
  const again = await ctx.stack.startGateway(gw.id);
  const inspector = await InspectorClient.connect(await inspectorUrlFrom(() => again.proc.logs()));
  return { inspector, gateway: { id: again.id, url: again.url } };
}

export const memory: CompareScenario = {
  id: 'memory',
  title: `7. memory per idle loaded room (${MEMORY_PARAMS.rooms} rooms of ${MEMORY_PARAMS.historyMessages + 1} events), per hibernated room (${HIBERNATED.rooms}), per connected socket (${MEMORY_PARAMS.sockets}); heap after a full GC (bench/footprint.ts)`,
  async run(ctx) {
    const log = (line: string) => console.log(`compare: ${line}`);
    let { inspector, gateway } = await freshGateway(ctx, { ROOM_IDLE_MS: '0' });
    let figures: Figure[];
    try {
      ({ figures } = await runFootprint({ api: ctx.api, users: ctx.users, gateway, inspector, runId: `${ctx.runId}m`, log }, MEMORY_PARAMS));
    } finally {
      inspector.close();
    }
    const s = '7 memory';
    figures = figures.map((f) => ({ ...f, scenario: s }));
    const perRoom = figures.find((f) => f.name.startsWith('memory per idle loaded room (heap'))!;
    const perSocket = figures.find((f) => f.name.startsWith('memory per connected socket (heap'))!;
    perRoom.note = `${perRoom.note}; target < 20 KiB: ${verdict(perRoom.value, { kind: 'max', bound: 20 })}`;
    perSocket.note = `${perSocket.note}; target < 30 KiB: ${verdict(perSocket.value, { kind: 'max', bound: 30 })}`;

    ({ inspector, gateway } = await freshGateway(ctx, { ROOM_IDLE_MS: HIBERNATED.idleMs }));
    try {
      // A first wave warms what the first snapshot and unload load once per process (the S3
      // client, the encoder's worker pool, compiled code); the reading compares two waves later.
      const warm = await hibernateWave(ctx, gateway, HIBERNATED.warmupRooms, 'warm');
      const baseline = await reading({ inspector, gateway });
      const wave = await hibernateWave(ctx, gateway, HIBERNATED.rooms, 'hib');
      const after = await reading({ inspector, gateway });
      const perHibernated = (after.heapUsedBytes - baseline.heapUsedBytes) / HIBERNATED.rooms;
      figures.push({
        scenario: s,
        name: 'memory per hibernated room (heap after GC)',
        value: round(perHibernated / 1024, 2),
        unit: 'KiB',
        note: `after ${HIBERNATED.warmupRooms} rooms hibernated to warm up (${round(warm / 1000, 1)} s), ${HIBERNATED.rooms} more loaded, left, snapshotted and unloaded (ROOM_IDLE_MS=${HIBERNATED.idleMs}) in ${round(wave / 1000, 1)} s: heap ${round(baseline.heapUsedBytes / 2 ** 20, 1)} -> ${round(after.heapUsedBytes / 2 ** 20, 1)} MiB (should be ~0)`,
        details: { baseline, after },
      });
    } finally {
      inspector.close();
    }
    await freshGateway(ctx, { ROOM_IDLE_MS: '0' }).then(({ inspector: i }) => i.close());
    return { figures, raw: {} };
  },
};
