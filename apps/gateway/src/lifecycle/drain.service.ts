import { Logger } from '@nestjs/common';
import type { RoomOwnership } from '../../../../libs/routing/src';
import type { GroupCommitWriter } from '../rooms/group-commit.writer';
import type { RoomActor } from '../rooms/room.actor';
import type { RoomRegistry } from '../rooms/room.registry';

export interface DrainProgress {
  state: 'active' | 'draining' | 'drained';
  total: number;
  handedOver: number;
  /** Of those, rooms handed over at the deadline, without waiting for a final snapshot. */
  atDeadline: number;
  startedAt: string | null;
  /** Milliseconds each room took to hand over before the deadline, in order. */
  perRoomMs: number[];
}

/** Pause between two rooms' hand-overs in a lane, so their clients do not reconnect all at once. */
const STAGGER_MS = 25;
/**
 * Rooms handed over at the same time, each lane taking the next room: one lane (a room, its
 * final snapshot, then STAGGER_MS) took about 40 ms a room, 20 s for 500 rooms; eight finish
 * them in a few seconds (issue 9, scenario 6 in BENCHMARKS.md) and still spread the reconnects.
 */
const HANDOVER_LANES = 8;
/**
 * Past the deadline, how long a room's release may wait for Redis, ms. A room whose release
 * did not answer is still given up: the scheduler moves rooms away from a draining or gone owner.
 */
const RELEASE_BUDGET_MS = 2_000;
/**
 * Past the deadline, how long the drain still waits for rooms that were loading (a load is a
 * lease and a replay from Postgres, bounded by the database's own timeouts), ms.
 */
const LOAD_WAIT_PAST_DEADLINE_MS = 2_000;

const LATE = Symbol('late');

/**
 * The one shutdown sequence for SIGTERM, Ctrl-C and the admin drain: mark draining (the
 * scheduler stops choosing this gateway, handshakes are refused), then room by room (a few
 * lanes at once) finish in-flight commits, snapshot, release the owner key and tell clients
 * `room:moved`.
 *
 * The drain has its own deadline (DRAIN_DEADLINE_MS), below the grace period a supervisor gives
 * the process: once it passes, every remaining room is released and its clients are told
 * `room:moved` at once, without waiting for a final snapshot or for commits in flight. That
 * costs only time: the log is the truth, the next owner replays the tail, and clients resend
 * what was not acknowledged with the same clientMsgId.
 */
export class DrainService {
  private readonly logger = new Logger(DrainService.name);
  private running: Promise<DrainProgress> | undefined;
  private snapshotFailures = 0;
  readonly progress: DrainProgress = { state: 'active', total: 0, handedOver: 0, atDeadline: 0, startedAt: null, perRoomMs: [] };

  constructor(
    private readonly rooms: RoomRegistry,
    private readonly ownership: RoomOwnership,
    private readonly writer: GroupCommitWriter,
    private readonly gatewayId: string,
    /** Publishes the draining status before the first room moves. */
    private readonly announce: () => Promise<void>,
    /** DRAIN_DEADLINE_MS: ms after the start by which every room is handed over; 0: all at once. */
    private readonly deadlineMs: number,
  ) {}

  get isDraining(): boolean {
    return this.progress.state !== 'active';
  }

  /** Starts the drain once; later calls wait for the same one. */
  drain(reason: string): Promise<DrainProgress> {
    this.running ??= this.run(reason);
    return this.running;
  }

  private async run(reason: string): Promise<DrainProgress> {
    const deadline = Date.now() + this.deadlineMs;
    this.progress.state = 'draining';
    this.progress.startedAt = new Date().toISOString();
    await this.announce().catch(() => undefined);
    this.logger.log(`draining (${reason}): ${this.rooms.size} room(s) to hand over, deadline ${this.deadlineMs} ms`);
    for (;;) {
      const actors = this.rooms.all().filter((a) => !a.isLost);
      if (actors.length === 0) {
        // Rooms still loading when the drain started are included: wait for them too.
        if (!this.rooms.isLoading || Date.now() >= deadline + LOAD_WAIT_PAST_DEADLINE_MS) break;
        await sleep(20);
        continue;
      }
      this.progress.total = this.progress.handedOver + actors.length;
      if (Date.now() < deadline) await this.handOverInTurn(actors, deadline);
      else await this.handOverAtOnce(actors);
    }
    // Commits of rooms handed over at the deadline were discarded; others settle within the
    // database's own timeouts, but the process must not outlive its grace period for them.
    await beforeDeadline(this.writer.idle(), Math.max(0, deadline - Date.now()) + RELEASE_BUDGET_MS);
    this.progress.state = 'drained';
    this.logger.log(`drained: ${this.progress.handedOver} room(s) handed over${this.summary()}`);
    return this.progress;
  }

  /**
   * Room by room in HANDOVER_LANES lanes, each room after its in-flight commits and a final
   * snapshot. Returns as soon as the deadline passes, even in the middle of rooms: the caller
   * hands those rooms over at once too.
   */
  private async handOverInTurn(actors: RoomActor[], deadline: number): Promise<void> {
    let next = 0;
    let late = false;
    const lane = async () => {
      while (!late && next < actors.length) {
        const actor = actors[next++]!;
        const left = deadline - Date.now();
        if (left <= 0) {
          late = true;
          return;
        }
        const started = Date.now();
        // One try at the final snapshot (the S3 client retries once itself), and none once S3
        // failed during this drain: a drain with S3 down must not take rooms x attempts x timeouts.
        const attempts = this.snapshotFailures > 0 ? 0 : 1;
        const outcome = await beforeDeadline(actor.retire(() => this.release(actor), { snapshotAttempts: attempts }), left);
        if (outcome === LATE) {
          late = true;
          return;
        }
        if (outcome === 'failed') this.snapshotFailures += 1;
        this.progress.handedOver += 1;
        this.progress.perRoomMs.push(Date.now() - started);
        await sleep(STAGGER_MS);
      }
    };
    await Promise.all(Array.from({ length: Math.min(HANDOVER_LANES, actors.length) }, lane));
  }

  /**
   * Past the deadline: every remaining room at once, without its final snapshot. A retire still
   * running for one of them ends harmlessly later: its release only acts while this gateway
   * still owns the room, and a snapshot or commit under the old epoch is refused by the store
   * once the next owner took the lease.
   */
  private async handOverAtOnce(actors: RoomActor[]): Promise<void> {
    this.logger.warn(`drain deadline (${this.deadlineMs} ms) reached: handing ${actors.length} room(s) over without final snapshots`);
    await Promise.all(
      actors.map(async (actor) => {
        await beforeDeadline(this.release(actor), RELEASE_BUDGET_MS);
        actor.loseRoom('drain');
        this.progress.handedOver += 1;
        this.progress.atDeadline += 1;
      }),
    );
  }

  private release(actor: RoomActor): Promise<void> {
    return this.ownership.release(actor.roomId, this.gatewayId).then(
      () => undefined,
      () => undefined,
    );
  }

  private summary(): string {
    const perRoom = [...this.progress.perRoomMs].sort((a, b) => a - b);
    const timing = perRoom.length > 0 ? `, per room median ${perRoom[Math.floor(perRoom.length / 2)]} ms, max ${perRoom.at(-1)} ms` : '';
    const failed = this.snapshotFailures > 0 ? ` (final snapshot failed for ${this.snapshotFailures}: they resume from the log)` : '';
    const late = this.progress.atDeadline > 0 ? ` (${this.progress.atDeadline} at the deadline, without final snapshot: they resume from the log)` : '';
    return `${timing}${failed}${late}`;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `work`'s value, or LATE when it has not settled within `ms` (the work itself goes on). */
async function beforeDeadline<T>(work: Promise<T>, ms: number): Promise<T | typeof LATE> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof LATE>((resolve) => {
    timer = setTimeout(() => resolve(LATE), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
