import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import type { Principal } from '../../../../libs/auth/src';
import type { EventEnvelope, MovedReason } from '../../../../libs/domain/src';
import { Database, EventLogRepository, RoomRepository, SnapshotRepository, UserRepository } from '../../../../libs/persistence/src';
import { RoomOwnership } from '../../../../libs/routing/src';
import { createS3Client, SnapshotStore } from '../../../../libs/storage/src';
import { GroupCommitWriter } from '../rooms/group-commit.writer';
import type { RoomChannel } from '../rooms/room.actor';
import { RoomRegistry } from '../rooms/room.registry';
import { DrainService } from './drain.service';

/**
 * The drain's deadline against real Postgres (event log, epochs, snapshot rows), Redis (room
 * ownership) and an S3 endpoint that accepts connections and never answers (a blackhole), so
 * every final snapshot hangs. The S3 client is given a request timeout far beyond this test's
 * own: without the deadline the drain would wait on the first snapshot and the test time out.
 * The socket layer is the only double: a channel that records `room:moved` notices.
 */
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/durable_rooms_test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/1';
const ROOMS = 5;
const HANGING_S3_TIMEOUT_MS = 10 * 60_000;

class RecordingChannel implements RoomChannel {
  kicked(): void {}
  readonly notices: Array<{ roomId: string; reason: MovedReason }> = [];
  event(_envelope: EventEnvelope): void {}
  moved(roomId: string, reason: MovedReason): void {
    this.notices.push({ roomId, reason });
  }
}

/** A TCP endpoint that accepts every connection and never sends a byte. */
class Blackhole {
  private readonly sockets = new Set<Socket>();
  accepted = 0;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Blackhole> {
    const server = createServer();
    const hole = new Blackhole(server);
    server.on('connection', (socket) => {
      hole.accepted += 1;
      hole.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => hole.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return hole;
  }

  get url(): string {
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const unique = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`;

let db: Database;
let redis: Redis;
let rooms: RoomRepository;
let log: EventLogRepository;
let ownership: RoomOwnership;
let alice: Principal;
let s3: Blackhole;

beforeAll(async () => {
  db = new Database(DATABASE_URL, { applicationName: 'drain-service-int-spec' });
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  rooms = new RoomRepository(db);
  log = new EventLogRepository(db);
  ownership = new RoomOwnership(redis);
  const user = await new UserRepository(db).create(unique('alice'), 'not-a-real-hash', 'user');
  alice = { id: user.id, username: user.username, role: user.role };
  s3 = await Blackhole.start();
});

afterAll(async () => {
  await s3?.close();
  redis?.disconnect();
  await db?.close();
});

interface Gateway {
  id: string;
  registry: RoomRegistry;
  writer: GroupCommitWriter;
  channel: RecordingChannel;
  roomIds: string[];
}

/** A gateway's room layer holding ROOMS rooms, each assigned to it and with an unsnapshotted message. */
async function gatewayHoldingRooms(): Promise<Gateway> {
  const id = unique('gw');
  const client = createS3Client(
    { endpoint: s3.url, region: 'us-east-1', bucket: 'durable-rooms', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true },
    { requestTimeoutMs: HANGING_S3_TIMEOUT_MS },
  );
  const snapshots = new SnapshotStore(client, 'durable-rooms', new SnapshotRepository(db), () => undefined);
  const writer = new GroupCommitWriter(log);
  const channel = new RecordingChannel();
  const registry = new RoomRegistry({ gatewayId: id, rooms, events: log, snapshots, writer, channel });
  const roomIds: string[] = [];
  for (let i = 0; i < ROOMS; i++) {
    const roomId = (await rooms.create(unique('room'), alice)).room.id;
    await ownership.assign(roomId, null, id);
    const actor = (await registry.getOrLoad(roomId))!;
    await actor.send(alice, `m-${i}`, `message ${i}`);
    roomIds.push(roomId);
  }
  return { id, registry, writer, channel, roomIds };
}

/** Every room released in Redis, told `drain` exactly once, forgotten, and its log intact. */
async function expectEveryRoomHandedOver(gw: Gateway): Promise<void> {
  expect(gw.registry.size).toBe(0);
  expect(await ownership.ownersOf(gw.roomIds)).toEqual(gw.roomIds.map(() => null));
  for (const roomId of gw.roomIds) {
    expect(gw.channel.notices.filter((n) => n.roomId === roomId).map((n) => n.reason)).toEqual(['drain']);
    // The log is the truth: the next owner finds every acknowledged message without a snapshot.
    const events = await log.readAfter(roomId, 0, 100);
    expect(events.map((e) => e.type)).toEqual(['room.created', 'message.posted']);
  }
}

describe(DrainService.name, () => {
  it('hands every room over at the deadline when final snapshots hang (S3 blackholed)', async () => {
    const gw = await gatewayHoldingRooms();
    const drainer = new DrainService(gw.registry, ownership, gw.writer, gw.id, async () => undefined, 1_000);

    const progress = await drainer.drain('test');

    expect(progress).toMatchObject({ state: 'drained', total: ROOMS, handedOver: ROOMS, atDeadline: ROOMS });
    await expectEveryRoomHandedOver(gw);
    // The hang was real: the first room's snapshot reached S3 and got no answer, so none was recorded.
    expect(s3.accepted).toBeGreaterThan(0);
    for (const roomId of gw.roomIds) expect(await new SnapshotRepository(db).newest(roomId, 100, 1)).toEqual([]);
  });

  it('with a deadline of 0 hands every room over at once, without trying a snapshot', async () => {
    const gw = await gatewayHoldingRooms();
    const drainer = new DrainService(gw.registry, ownership, gw.writer, gw.id, async () => undefined, 0);
    const acceptedBefore = s3.accepted;

    const progress = await drainer.drain('test');

    expect(progress).toMatchObject({ state: 'drained', total: ROOMS, handedOver: ROOMS, atDeadline: ROOMS, perRoomMs: [] });
    await expectEveryRoomHandedOver(gw);
    expect(s3.accepted).toBe(acceptedBefore);
  });
});
