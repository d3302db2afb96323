/**
 * Many gateways (issue 8, acceptance 3), the small version of `npm run bench -- fleet`: 4 real
 * gateway processes, a few hundred rooms each with a connected member, some members sending
 * throughout, and a rolling restart (SIGTERM, i.e. drain, then a start with the same id) of
 * every gateway in turn. Nothing acknowledged may be lost or doubled, and rooms placed after the
 * restart must even the fleet out again.
 */
import { Pool } from 'pg';
import { ApiClient, type TestUser } from './support/client';
import { reportFigure } from './support/figures';
import {
  checkExactlyOnce,
  closeRooms,
  drainAndRestart,
  type FleetRoom,
  populateRooms,
  type RestartStep,
  settledCounts,
  spreadOf,
  startTraffic,
} from './support/fleet';
import { baseEnv, waitFor } from './support/processes';
import { TestStack } from './support/stack';

jest.setTimeout(300_000);

const GATEWAYS = 4;
const ROOMS = 200;
const SENDERS = 24;
/** Placed once the restart is over; more than the 200/3 rooms the last-restarted gateway lacks. */
const ROOMS_AFTER = 100;

describe('many gateways: rolling restart under traffic (e2e)', () => {
  let stack: TestStack;
  let pool: Pool;
  const rooms: FleetRoom[] = [];

  beforeAll(async () => {
    pool = new Pool({ connectionString: baseEnv().DATABASE_URL, max: 2 });
    stack = await TestStack.start({ name: 'fleet', gateways: GATEWAYS, env: { RATE_LIMIT_MSG_PER_SEC: '0', AUTH_RATE_LIMIT_PER_MIN: '0' } });
  });

  afterAll(async () => {
    closeRooms(rooms);
    await stack?.stop();
    await pool?.end();
  });

  it('hands every room over, loses and doubles nothing, and spreads the rooms placed afterwards', async () => {
    const api = new ApiClient(stack.apiUrl);
    await stack.createAdmin('fleet_admin', 'admin-password-123');
    const admin: TestUser = await api.login('fleet_admin', 'admin-password-123');
    const users = await Promise.all(Array.from({ length: 10 }, (_, i) => api.register(`fleet${i}`)));
    rooms.push(...(await populateRooms(api, users, { count: ROOMS, senders: SENDERS, concurrency: 8, name: 'fleet' })));
    const initial = await settledCounts(api, admin, stack, ROOMS);

    const prefix = `fleet-${Date.now().toString(36)}`;
    const traffic = startTraffic(rooms, { prefix, pauseMs: 100 });
    await waitFor('traffic in every sender room', async () => rooms.every((r) => !r.sender || r.member.acks.length >= 2), 30_000);

    const steps: Array<RestartStep & { acksDuring: number }> = [];
    for (const gw of stack.gateways.map((g) => g.id)) {
      const acksBefore = traffic.acked();
      const step = await drainAndRestart(stack, api, admin, rooms, gw);
      steps.push({ ...step, acksDuring: traffic.acked() - acksBefore });
    }

    // New rooms after the restart: the last gateway came back empty, and least-loaded placement
    // fills it first, then spreads over all.
    rooms.push(...(await populateRooms(api, users, { count: ROOMS_AFTER, senders: 0, concurrency: 8, name: 'fleetafter', offset: ROOMS })));
    const final = await settledCounts(api, admin, stack, ROOMS + ROOMS_AFTER);

    const failures = await traffic.stop();
    const log = await checkExactlyOnce(pool, rooms, prefix);

    for (const step of steps) {
      reportFigure('fleet', `hand-over ${step.gatewayId}: member served again, median`, step.handOverMs[Math.floor(step.handOverMs.length / 2)] ?? NaN, 'ms', {
        rooms: step.roomsMoved,
        maxMs: step.handOverMs.at(-1),
        joinAttemptMedianMs: step.joinAttemptMs[Math.floor(step.joinAttemptMs.length / 2)],
        drainMs: step.drainMs,
        drainLog: step.drainLog,
        movedTo: step.movedTo,
      });
    }
    reportFigure('fleet', 'acknowledged messages during the rolling restart', log.acked, 'msgs', { ...log });

    expect(failures).toEqual([]);
    // Every gateway held rooms before its turn; each drain exited cleanly, moved its rooms to
    // the others (never back to itself) while messages kept being acknowledged.
    expect(initial.every((c) => c.rooms > 0)).toBe(true);
    for (const step of steps) {
      expect(step.exit).toEqual({ code: 0, signal: null });
      expect(step.roomsMoved).toBeGreaterThan(0);
      expect(step.drainLog?.handedOver).toBe(step.roomsMoved);
      expect(step.handOverMs).toHaveLength(step.roomsMoved);
      expect(Object.keys(step.movedTo)).not.toContain(step.gatewayId);
      expect(step.acksDuring).toBeGreaterThan(0);
    }
    expect(log.acked).toBeGreaterThan(0);
    expect(log).toMatchObject({ lost: 0, unexpected: 0, atAckedSeq: log.acked, rowsWithPrefix: log.acked });
    for (const room of rooms) expect(room.member.conflicts).toEqual([]);

    // Spread after the restart. The least-loaded rule levels the gateways up to the placements
    // that read the same counts at once (8 in flight here; rendezvous hashing spreads those over
    // the equals), a few rooms against a mean of 75. The bound 0.5x-1.5x (±37 rooms) is far
    // from that, yet fails the two ways placement goes wrong: ignoring load (hashing or random
    // alone leaves the last-restarted gateway with about 25 rooms, 0.33x) or piling the new
    // rooms onto one gateway (167 rooms, 2.2x).
    const spread = spreadOf(final);
    reportFigure('fleet', 'rooms per gateway after the restart and 100 new rooms (max/mean)', spread.max, 'x', { counts: final, ratios: spread.ratios });
    expect(final).toHaveLength(GATEWAYS);
    for (const ratio of Object.values(spread.ratios)) {
      expect(ratio).toBeGreaterThanOrEqual(0.5);
      expect(ratio).toBeLessThanOrEqual(1.5);
    }
  });
});
