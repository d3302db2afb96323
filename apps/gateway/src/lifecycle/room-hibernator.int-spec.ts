import { randomUUID } from 'node:crypto';
import type { Principal } from '../../../../libs/auth/src';
import { DomainError, type EventEnvelope, type MovedReason } from '../../../../libs/domain/src';
import { Database, EventLogRepository, RoomRepository, UserRepository } from '../../../../libs/persistence/src';
import { GroupCommitWriter } from '../rooms/group-commit.writer';
import type { RoomChannel } from '../rooms/room.actor';
import { RoomRegistry } from '../rooms/room.registry';
import { RoomHibernator } from './room.hibernator';

/**
 * The hibernator and the room registry against the real Postgres event log and group-commit
 * writer. The socket layer is the only double: a count of open sockets per room the test sets,
 * and a channel that records what would have been broadcast.
 */
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/durable_rooms_test';
const IDLE_MS = 1_000;

class RecordingChannel implements RoomChannel {
  kicked(): void {}
  readonly notices: Array<{ roomId: string; reason: MovedReason }> = [];
  event(_envelope: EventEnvelope): void {}
  moved(roomId: string, reason: MovedReason): void {
    this.notices.push({ roomId, reason });
  }
  reasonsFor(roomId: string): MovedReason[] {
    return this.notices.filter((m) => m.roomId === roomId).map((m) => m.reason);
  }
}

let db: Database;
let rooms: RoomRepository;
let log: EventLogRepository;
let alice: Principal;

const unique = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`;

interface Harness {
  registry: RoomRegistry;
  hibernator: RoomHibernator;
  channel: RecordingChannel;
  sockets: Map<string, number>;
  released: string[];
}

function harness(): Harness {
  const channel = new RecordingChannel();
  const sockets = new Map<string, number>();
  const released: string[] = [];
  const registry = new RoomRegistry({ gatewayId: unique('gw'), rooms, events: log, writer: new GroupCommitWriter(log), channel });
  const hibernator = new RoomHibernator({
    rooms: registry,
    socketsIn: (roomId) => sockets.get(roomId) ?? 0,
    release: async (roomId) => {
      released.push(roomId);
    },
    isDraining: () => false,
    idleMs: IDLE_MS,
  });
  return { registry, hibernator, channel, sockets, released };
}

async function newRoom(): Promise<string> {
  return (await rooms.create(unique('room'), alice)).room.id;
}

async function seqsOf(roomId: string): Promise<Array<[number, string | undefined]>> {
  const events = await log.readAfter(roomId, 0, 10_000);
  return events.map((e) => [e.seq, e.clientMsgId]);
}

beforeAll(async () => {
  db = new Database(DATABASE_URL, { applicationName: 'room-hibernator-int-spec' });
  rooms = new RoomRepository(db);
  log = new EventLogRepository(db);
  const user = await new UserRepository(db).create(unique('alice'), 'not-a-real-hash', 'user');
  alice = { id: user.id, username: user.username, role: user.role };
});

afterAll(async () => {
  await db?.close();
});

describe(RoomHibernator.name, () => {
  it('unloads a room unused for ROOM_IDLE_MS: released, told `idle`, forgotten', async () => {
    const h = harness();
    const roomId = await newRoom();
    const actor = (await h.registry.getOrLoad(roomId))!;
    await actor.send(alice, 'm1', 'hello');
    const t0 = Date.now();
    await h.hibernator.sweep(t0);
    await h.hibernator.sweep(t0 + IDLE_MS - 1);
    expect(h.registry.size).toBe(1);

    await h.hibernator.sweep(t0 + IDLE_MS);

    expect(h.registry.size).toBe(0);
    expect(h.released).toEqual([roomId]);
    expect(h.channel.reasonsFor(roomId)).toEqual(['idle']);
    expect(actor.isLost).toBe(true);
    expect(h.hibernator.stats.unloaded).toBe(1);
  });

  it('never unloads a room that has a socket, however long it is quiet', async () => {
    const h = harness();
    const roomId = await newRoom();
    await h.registry.getOrLoad(roomId);
    h.sockets.set(roomId, 1);
    const t0 = Date.now();
    for (let i = 0; i <= 20; i++) await h.hibernator.sweep(t0 + i * IDLE_MS);
    expect(h.registry.size).toBe(1);
    expect(h.released).toEqual([]);
  });

  it('keeps the room when a socket arrives between the decision and the unload', async () => {
    const h = harness();
    const roomId = await newRoom();
    const actor = (await h.registry.getOrLoad(roomId))!;
    const t0 = Date.now();
    await h.hibernator.sweep(t0);
    // The sweep decides and queues the unload; a socket connects before the unload's turn.
    const sweeping = h.hibernator.sweep(t0 + IDLE_MS);
    h.sockets.set(roomId, 1);
    await sweeping;
    expect(h.registry.get(roomId)).toBe(actor);
    expect(actor.isLost).toBe(false);
    expect(h.hibernator.stats.kept).toBe(1);
    expect((await actor.send(alice, 'after', 'still served')).seq).toBe(2);
  });

  it('a load racing the unload waits for it and is told room_moved; the next load resumes with nothing lost or forked', async () => {
    const h = harness();
    const roomId = await newRoom();
    const acked: Array<[number, string]> = [];
    let movedDuringUnload = 0;
    let t = Date.now();
    for (let round = 0; round < 25; round++) {
      // Come back (load or reuse) and send, retrying as a client would on room_moved.
      for (;;) {
        try {
          const actor = await h.registry.getOrLoad(roomId);
          const ref = await actor!.send(alice, `c${round}`, `round ${round}`);
          acked.push([ref.seq, `c${round}`]);
          break;
        } catch (err) {
          if (!(err instanceof DomainError && err.code === 'room_moved')) throw err;
          movedDuringUnload += 1;
        }
      }
      // Leave, make the room due, and start its unload while the next round's load starts in
      // the same tick, or a few ticks later.
      await h.hibernator.sweep(t);
      t += IDLE_MS;
      const unload = h.hibernator.sweep(t);
      for (let i = 0; i < round % 4; i++) await new Promise((resolve) => setImmediate(resolve));
      const racer = h.registry.getOrLoad(roomId).then(
        (actor) => actor,
        (err: unknown) => {
          if (!(err instanceof DomainError && err.code === 'room_moved')) throw err;
          movedDuringUnload += 1;
          return null;
        },
      );
      await Promise.all([unload, racer]);
    }
    expect(await seqsOf(roomId)).toEqual([[1, undefined], ...acked]);
    expect(acked.map(([seq]) => seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 2));
    // The race really happened: some loads met an unload in progress.
    expect(movedDuringUnload).toBeGreaterThan(0);
  });
});
