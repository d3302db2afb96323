/**
 * Scenarios 4-6 of the comparison bench (issue 9), which have no peer equivalent and measure
 * the product alone on the comparison stack: the write path against a raw `INSERT … unnest`
 * (A B A B like the others), resume of big rooms from a snapshot and by full replay, and a drain
 * of 500 rooms from one gateway to another (last on the stack: it leaves its gateway drained).
 */
import { performance } from 'node:perf_hooks';
import type { RoomAppend } from '../libs/persistence/src';
// The repository as the gateway runs it: compiled in dist/ (scripts/bench.sh builds first). The
// source's generated Prisma client imports `.js` paths that the bench's require hook cannot map.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Database, EventLogRepository } = require('../dist/libs/persistence/src') as typeof import('../libs/persistence/src');
import type { TestUser } from '../test/support/client';
import { fillRoomLog } from '../test/support/bulk-log';
import { baseEnv, waitFor } from '../test/support/processes';
import { alternation, compare, median, ratio, type Sample, verdict } from './compare';
import type { CompareContext, CompareScenario } from './compare-scenarios';
import { benchText, closeAll, distribution, enterRoom, type Figure, mapLimit, type Member, round, sleep } from './lib';

// ---- 4. the write path alone -------------------------------------------------------------------------

const S4 = { rooms: 20, eventsPerRoom: 5, textLength: 120 };

/** One batch's rows, as the gateway's group commit builds them (20 rooms x 5 events). */
function batchOf(rooms: Array<{ id: string; epoch: number; head: number }>, user: TestUser, tag: string, text: string): RoomAppend[] {
  const ts = new Date().toISOString();
  return rooms.map((r) => ({
    roomId: r.id,
    epoch: r.epoch,
    events: Array.from({ length: S4.eventsPerRoom }, (_, k) => ({
      seq: r.head + 1 + k,
      type: 'message.posted' as const,
      actorId: user.user.id,
      actorUsername: user.user.username,
      clientMsgId: `${tag}-${r.head + 1 + k}`,
      data: { text },
      ts,
    })),
  }));
}

const RAW_SQL = `INSERT INTO room_events (room_id, seq, type, actor_id, actor_username, client_msg_id, data, created_at)
  SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::jsonb[], $8::timestamptz[])`;

type Db = InstanceType<typeof Database>;

/**
 * `EXPLAIN (ANALYZE, BUFFERS)` of the very statement `appendBatch` sends for `appends`: the
 * repository runs against a pool whose `query` only records its text and values, then the
 * statement is explained on a real connection inside a transaction that is rolled back.
 */
async function explainAppend(db: Db, repo: InstanceType<typeof EventLogRepository>, appends: RoomAppend[]): Promise<string> {
  const pool = db.pool as unknown as { query: unknown };
  const real = pool.query;
  let captured: { text: string; values: unknown[] } | undefined;
  pool.query = (text: string | { text: string; values?: unknown[] }, values?: unknown[]) => {
    captured = typeof text === 'string' ? { text, values: values ?? [] } : { text: text.text, values: text.values ?? values ?? [] };
    return Promise.resolve({ rows: [], rowCount: 0 });
  };
  try {
    await repo.appendBatch(appends);
  } finally {
    pool.query = real;
  }
  if (!captured) throw new Error('explain: appendBatch sent no statement');
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${captured.text}`, captured.values);
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

export const writePath: CompareScenario = {
  id: 'write-path',
  title: `4. write path: appends/s through EventLogRepository.appendBatch vs a raw INSERT ... unnest of the same rows (${S4.rooms} rooms x ${S4.eventsPerRoom} events a statement, one statement at a time)`,
  async run(ctx) {
    const db = new Database(baseEnv().DATABASE_URL!, { poolSize: 1, applicationName: 'bench-write-path' });
    try {
      const user = ctx.users[1]!;
      const make = async (label: string) => {
        const rooms = await mapLimit(Array.from({ length: S4.rooms }, (_, i) => i), 8, (i) => ctx.api.createRoom(user.token, `${label} ${i}`));
        const { rows } = await db.pool.query<{ id: string; epoch: number; head_seq: number }>('SELECT id, epoch, head_seq FROM rooms WHERE id = ANY($1::uuid[])', [rooms.map((r) => r.id)]);
        return rows.map((r) => ({ id: r.id, epoch: r.epoch, head: r.head_seq }));
      };
      const repoRooms = await make('cmp-s4-repo');
      const rawRooms = await make('cmp-s4-raw');
      const repo = new EventLogRepository(db);
      const text = benchText(S4.textLength);
      const windowMs = ctx.options.seconds * 1000;
      const samples: Sample[] = [];
      const done = { ours: 0, peer: 0 };
      for (const side of alternation(ctx.options.reps)) {
        const rep = ++done[side];
        const rooms = side === 'ours' ? repoRooms : rawRooms;
        const latencies: number[] = [];
        let events = 0;
        const end = performance.now() + windowMs;
        for (let b = 0; performance.now() < end; b++) {
          const appends = batchOf(rooms, user, `${ctx.runId}-s4-${side}-${rep}-${b}`, text);
          const at = performance.now();
          if (side === 'ours') {
            const outcome = await repo.appendBatch(appends);
            const fenced = [...outcome.values()].filter((o) => o !== 'committed').length;
            if (fenced) throw new Error(`write path: ${fenced} room(s) fenced in a bench batch`);
          } else {
            const cols: unknown[][] = [[], [], [], [], [], [], [], []];
            for (const a of appends) {
              for (const e of a.events) {
                cols[0]!.push(a.roomId);
                cols[1]!.push(e.seq);
                cols[2]!.push(e.type);
                cols[3]!.push(e.actorId);
                cols[4]!.push(e.actorUsername);
                cols[5]!.push(e.clientMsgId);
                cols[6]!.push(JSON.stringify(e.data));
                cols[7]!.push(e.ts);
              }
            }
            await db.pool.query(RAW_SQL, cols);
          }
          latencies.push(performance.now() - at);
          events += S4.rooms * S4.eventsPerRoom;
          for (const r of rooms) r.head += S4.eventsPerRoom;
        }
        const d = distribution(latencies);
        const metrics = { eventsPerSec: round(events / (windowMs / 1000), 0), statementP50: d.p50, statementP99: d.p99 };
        samples.push({ side, rep, metrics });
        console.log(`compare: write-path ${side === 'ours' ? 'repository' : 'raw unnest'} #${rep}: ${JSON.stringify(metrics)}`);
      }
      const plan = await explainAppend(db, repo, batchOf(repoRooms, user, `${ctx.runId}-s4-explain`, text));
      console.log(`compare: EXPLAIN (ANALYZE, BUFFERS) of the append statement (${S4.rooms} rooms x ${S4.eventsPerRoom} events, rolled back):\n${plan}`);
      const [rate, p50, p99] = compare(samples, ['eventsPerSec', 'statementP50', 'statementP99']);
      const s = '4 write path';
      const runs = (c: typeof rate) => `repository [${c!.oursRuns.join(', ')}], raw [${c!.peerRuns.join(', ')}]`;
      const figures: Figure[] = [
        { scenario: s, name: 'appends/s: repository', value: rate!.ours, unit: 'ev/s', note: runs(rate), details: { ...rate } },
        { scenario: s, name: 'appends/s: raw INSERT unnest', value: rate!.peer, unit: 'ev/s', note: 'same rows, same pool, no head/epoch check', details: { ...rate } },
        { scenario: s, name: 'appends/s: repository / raw', value: round(rate!.ratio, 2), unit: 'x', note: `target >= 0.8: ${verdict(rate!.ratio, { kind: 'min', bound: 0.8 })}`, details: { ...rate } },
        { scenario: s, name: 'statement p50: repository / raw', value: round(p50!.ratio, 2), unit: 'x', note: `${p50!.ours} vs ${p50!.peer} ms; p99 ${p99!.ours} vs ${p99!.peer} ms`, details: { p50, p99 } },
      ];
      return { figures, raw: { params: S4, samples, explain: plan } };
    } finally {
      await db.close();
    }
  },
};

// ---- 5. resume of big rooms: snapshot vs full replay ---------------------------------------------

export const RESUME_SIZES = [1_000, 100_000, 1_000_000];

async function snapshotAt(ctx: CompareContext, roomId: string, head: number, timeoutMs: number): Promise<{ seq: number; bytes: number }> {
  return waitFor(
    `a snapshot of room ${roomId} at ${head}`,
    async () => {
      const { rows } = await ctx.pool.query<{ seq: number; bytes: number }>('SELECT seq, bytes FROM room_snapshots WHERE room_id = $1 ORDER BY seq DESC LIMIT 1', [roomId]);
      return rows[0]?.seq === head ? rows[0] : undefined;
    },
    timeoutMs,
    250,
  );
}

/** Stops the comparison gateway (SIGTERM: it hands its rooms back) and starts it again: nothing loaded. */
async function restartGateway(ctx: CompareContext): Promise<void> {
  const gw = ctx.stack.gateways[0]!;
  await gw.proc.stop(60_000);
  await ctx.stack.startGateway(gw.id);
}

export const resumeBig: CompareScenario = {
  id: 'resume',
  title: `5. resume of rooms of ${RESUME_SIZES.map((n) => n.toLocaleString('en')).join(' / ')} events (filled by SQL): POST /rooms/:id/connection -> room:join ack, by full replay (no snapshot yet) and from the snapshot (after a gateway restart)`,
  async run(ctx) {
    const user = ctx.users[2]!;
    const rooms: Array<{ id: string; events: number; fillMs: number; replayMs?: number; snapshotMs?: number; snapshotBytes?: number; snapshotWaitMs?: number }> = [];
    for (const events of RESUME_SIZES) {
      const room = await ctx.api.createRoom(user.token, `cmp-s5 ${events}`);
      const at = performance.now();
      await fillRoomLog(ctx.pool, room.id, user, events);
      rooms.push({ id: room.id, events, fillMs: round(performance.now() - at, 0) });
      console.log(`compare: resume: room of ${events} events filled in ${round((performance.now() - at) / 1000, 1)} s`);
    }
    // Full replay: the first load of a room with no snapshot folds its whole log.
    for (const r of rooms) {
      const first = await enterRoom(ctx.api, user, r.id, 0, { timeoutMs: 600_000, deadlineMs: 600_000 });
      closeAll([first.member]);
      if (first.ack.room.headSeq !== r.events) throw new Error(`resume: head ${first.ack.room.headSeq}, expected ${r.events}`);
      r.replayMs = round(first.ms, 1);
      console.log(`compare: resume: ${r.events} events by full replay: ${r.replayMs} ms`);
      const waitAt = performance.now();
      const snap = await snapshotAt(ctx, r.id, r.events, 600_000);
      r.snapshotBytes = snap.bytes;
      r.snapshotWaitMs = round(performance.now() - waitAt, 0);
    }
    await restartGateway(ctx);
    for (const r of rooms) {
      const second = await enterRoom(ctx.api, user, r.id, 1, { timeoutMs: 600_000, deadlineMs: 600_000 });
      closeAll([second.member]);
      if (second.ack.room.headSeq !== r.events) throw new Error(`resume from snapshot: head ${second.ack.room.headSeq}, expected ${r.events}`);
      r.snapshotMs = round(second.ms, 1);
      console.log(`compare: resume: ${r.events} events from the snapshot (${round(r.snapshotBytes! / 2 ** 20, 1)} MiB): ${r.snapshotMs} ms`);
    }
    // Leave the stack as the next scenario expects it: a fresh gateway.
    await restartGateway(ctx);
    const s = '5 resume';
    const small = rooms[0]!;
    const big = rooms[rooms.length - 1]!;
    const vsSmall = ratio(big.snapshotMs!, small.snapshotMs!);
    const vsReplay = ratio(big.replayMs!, big.snapshotMs!);
    const figures: Figure[] = rooms.flatMap((r) => [
      { scenario: s, name: `${r.events.toLocaleString('en')} events: from snapshot`, value: r.snapshotMs!, unit: 'ms', note: `snapshot ${round(r.snapshotBytes! / 1024, 0)} KiB, made ${r.snapshotWaitMs} ms after the replay`, details: r },
      { scenario: s, name: `${r.events.toLocaleString('en')} events: full replay`, value: r.replayMs!, unit: 'ms', note: `log filled by SQL in ${r.fillMs} ms`, details: r },
    ]);
    figures.push(
      { scenario: s, name: `snapshot resume ${big.events.toLocaleString('en')} / ${small.events.toLocaleString('en')}`, value: round(vsSmall, 2), unit: 'x', note: `target <= 2: ${verdict(vsSmall, { kind: 'max', bound: 2 })}`, details: {} },
      { scenario: s, name: `full replay / snapshot, ${big.events.toLocaleString('en')} events`, value: round(vsReplay, 1), unit: 'x', note: `target >= 20: ${verdict(vsReplay, { kind: 'min', bound: 20 })}; one run per size`, details: {} },
    );
    return { figures, raw: { rooms } };
  },
};

// ---- 6. drain of 500 rooms ---------------------------------------------------------------------------

const S6 = { rooms: 500 };

export const drain: CompareScenario = {
  id: 'drain',
  title: `6. drain of ${S6.rooms} rooms (a member in each) from one gateway to a second: admin drain request -> the last member served again (room:join ack on the new gateway); runs last (the first gateway stays drained)`,
  async run(ctx) {
    const from = ctx.stack.gateways[0]!;
    const rooms = await mapLimit(Array.from({ length: S6.rooms }, (_, i) => i), 8, (i) => ctx.api.createRoom(ctx.users[i % ctx.users.length]!.token, `cmp-s6 ${i}`));
    const members: Member[] = await mapLimit(rooms, 16, async (room, i) => (await enterRoom(ctx.api, ctx.users[i % ctx.users.length]!, room.id, i)).member);
    try {
      if (members.some((m) => m.gatewayId !== from.id)) throw new Error('drain: a room was not placed on the first gateway');
      const to = ctx.stack.gateways[1] ?? (await ctx.stack.startGateway('cmp-gw-2'));
      const served: number[] = [];
      const failures: string[] = [];
      const moved = members.map(
        (m) =>
          new Promise<void>((resolve) => {
            m.socket.once('room:moved', () => {
              closeAll([m]);
              enterRoom(ctx.api, m.user, m.roomId, m.index, { join: { afterSeq: 1 }, deadlineMs: 60_000 }).then(
                (again) => {
                  served.push(performance.now());
                  members[m.index] = again.member;
                  if (again.member.gatewayId !== to.id) failures.push(`${m.roomId} went to ${again.member.gatewayId}`);
                  resolve();
                },
                (err: Error) => {
                  failures.push(err.message);
                  resolve();
                },
              );
            });
          }),
      );
      const t0 = performance.now();
      const res = await ctx.api.request('POST', `/admin/gateways/${from.id}/drain`, { token: ctx.admin.token });
      if (res.status !== 202) throw new Error(`drain: ${res.status} ${JSON.stringify(res.body)}`);
      const all = await Promise.race([Promise.all(moved).then(() => true), sleep(120_000).then(() => false)]);
      if (!all || failures.length) throw new Error(`drain: ${served.length}/${S6.rooms} members served again${failures.length ? `; ${failures.slice(0, 3).join('; ')}` : ''}`);
      const lastMs = Math.max(...served) - t0;
      const each = distribution(served.map((at) => at - t0));
      const s = '6 drain';
      return {
        figures: [
          { scenario: s, name: `${S6.rooms} rooms: drain -> last member served`, value: round(lastMs, 0), unit: 'ms', note: `target <= 10000 ms: ${verdict(lastMs, { kind: 'max', bound: 10_000 })}; median member ${round(median(served.map((at) => at - t0)), 0)} ms`, details: { each } },
        ],
        raw: { each },
      };
    } finally {
      closeAll(members);
    }
  },
};
