import { randomUUID } from 'node:crypto';
import type { Principal } from '../../../../libs/auth/src';
import { createHash } from 'node:crypto';
import {
  decodeSnapshotDocument,
  dedupKey,
  DomainError,
  membershipRows,
  serializeRoomState,
  type EventEnvelope,
  type MemberCommand,
  type MovedReason,
} from '../../../../libs/domain/src';
import { Database, EventLogRepository, MembershipRepository, RoomRepository, UserRepository } from '../../../../libs/persistence/src';
import { GroupCommitWriter } from './group-commit.writer';
import { RoomActor, type RoomChannel } from './room.actor';

/**
 * The membership projection (`room_members`) against the real Postgres log, written by real room
 * actors through the real group-commit writer (issue 10, acceptance 6, and DESIGN.md invariant 11).
 */
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/durable_rooms_test';

class NullChannel implements RoomChannel {
  readonly kicks: Array<{ roomId: string; userId: string; reason: string }> = [];
  event(_envelope: EventEnvelope): void {}
  moved(_roomId: string, _reason: MovedReason): void {}
  kicked(roomId: string, userId: string, reason: string): void {
    this.kicks.push({ roomId, userId, reason });
  }
}

let db: Database;
let users: UserRepository;
let rooms: RoomRepository;
let log: EventLogRepository;
let membership: MembershipRepository;
const writers: GroupCommitWriter[] = [];

const uniqueName = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`;

async function newUser(prefix: string, role: 'user' | 'admin' = 'user'): Promise<Principal> {
  const user = await users.create(uniqueName(prefix), 'not-a-real-hash', role);
  return { id: user.id, username: user.username, role: user.role };
}

function gateway() {
  const writer = new GroupCommitWriter(log);
  writers.push(writer);
  const channel = new NullChannel();
  const id = uniqueName('gw');
  return {
    writer,
    channel,
    async load(roomId: string): Promise<RoomActor> {
      const actor = await RoomActor.load(roomId, { gatewayId: id, rooms, events: log, users, writer, channel, onLost: () => undefined });
      if (!actor) throw new Error(`no room ${roomId}`);
      return actor;
    },
  };
}

/** mulberry32: a small seeded PRNG, so a failing run can be repeated with its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

beforeAll(async () => {
  db = new Database(DATABASE_URL, { applicationName: 'membership-projection-int-spec' });
  users = new UserRepository(db);
  rooms = new RoomRepository(db);
  log = new EventLogRepository(db);
  membership = new MembershipRepository(db);
});

afterAll(async () => {
  await Promise.all(writers.map((w) => w.idle()));
  await db?.close();
});

describe('membership projection', () => {
  it('is written with the events: room creation, join, ban (with the kick), unban', async () => {
    const owner = await newUser('owner');
    const bob = await newUser('bob');
    const { room } = await rooms.create(uniqueName('room'), owner, 'private');
    expect(await membership.rowsOf(room.id)).toEqual([{ userId: owner.id, username: owner.username, status: 'member', role: 'owner', mutedUntil: null }]);
    const gw = gateway();
    const actor = await gw.load(room.id);
    await expect(actor.join(bob, undefined, () => undefined)).rejects.toMatchObject({ code: 'forbidden' });
    const invited = await actor.invite(owner, bob.username);
    expect(invited?.seq).toBe(2);
    expect(await membership.access(room.id, bob.id)).toEqual({ visibility: 'private', status: 'invited', role: null });
    await actor.join(bob, undefined, () => undefined);
    expect(await membership.access(room.id, bob.id)).toEqual({ visibility: 'private', status: 'member', role: 'member' });
    // The ack (the resolved promise) comes after the projection row is committed.
    await actor.member(owner, { kind: 'ban', userId: bob.id, reason: 'spam' });
    expect(await membership.access(room.id, bob.id)).toEqual({ visibility: 'private', status: 'banned', role: null });
    expect(gw.channel.kicks).toEqual([{ roomId: room.id, userId: bob.id, reason: 'banned' }]);
    await actor.member(owner, { kind: 'unban', userId: bob.id });
    expect(await membership.access(room.id, bob.id)).toEqual({ visibility: 'private', status: null, role: null });
  });

  it('writes nothing for a fenced (old) owner: its membership event and row are refused together', async () => {
    const owner = await newUser('owner');
    const bob = await newUser('bob');
    const { room } = await rooms.create(uniqueName('room'), owner, 'public');
    const old = await gateway().load(room.id);
    await old.join(bob, undefined, () => undefined);
    const current = await gateway().load(room.id); // takes the lease: the old owner is fenced
    const refused = await old.member(owner, { kind: 'ban', userId: bob.id, reason: '' }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(DomainError);
    expect(await membership.access(room.id, bob.id)).toMatchObject({ status: 'member' });
    expect((await log.readAfter(room.id, 0, 100)).map((e) => e.type)).toEqual(['room.created', 'member.joined']);
    await current.member(owner, { kind: 'ban', userId: bob.id, reason: '' });
    expect(await membership.access(room.id, bob.id)).toMatchObject({ status: 'banned' });
  });

  it('rebuilt from the log equals the live projection after 1,000 random membership commands across 10 rooms', async () => {
    const seed = Number(process.env.MEMBERSHIP_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const people = await Promise.all(Array.from({ length: 8 }, (_, i) => newUser(`p${i}`)));
    const admin = await newUser('admin', 'admin');
    const gw = gateway(); // one writer: commands of different rooms share group commits
    const roomIds: string[] = [];
    const actors: RoomActor[] = [];
    for (let i = 0; i < 10; i++) {
      const { room } = await rooms.create(uniqueName('prop'), people[i % 3]!, i % 2 === 0 ? 'public' : 'private');
      roomIds.push(room.id);
      actors.push(await gw.load(room.id));
    }

    const outcomes = new Map<string, number>();
    const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    const everyone = [...people, admin];
    const randomCommand = (actor: RoomActor): { caller: Principal; run: (actor: RoomActor) => Promise<unknown> } => {
      // Half the time someone who may moderate this room (owner, moderators), so that enough
      // commands pass the rules; the rest of the time anyone, so that the rules refuse many.
      const moderators = [...actor.view.members].filter(([, m]) => m.role !== 'member').map(([id]) => everyone.find((p) => p.id === id)!);
      const kind = pick(['join', 'join', 'leave', 'invite', 'invite', 'role', 'role', 'remove', 'ban', 'unban', 'unban', 'mute', 'mute', 'send'] as const);
      const moderation = !['join', 'leave', 'send'].includes(kind);
      const caller = random() < 0.05 ? admin : moderation && random() < 0.8 && moderators.length > 0 ? pick(moderators) : pick(people);
      const banned = [...actor.view.banned.keys()];
      // Targets the room knows most of the time (so that many commands change something).
      const members = [...actor.view.members.keys()];
      const targetId =
        kind === 'unban' && banned.length > 0 && random() < 0.8
          ? pick(banned)
          : ['role', 'remove', 'ban', 'mute'].includes(kind) && random() < 0.7
            ? pick(members)
            : pick(everyone).id;
      const target = everyone.find((p) => p.id === targetId)!;
      switch (kind) {
        case 'join':
          return { caller, run: (a) => a.join(caller, undefined, () => undefined) };
        case 'invite':
          return { caller, run: (a) => a.invite(caller, target.username) };
        case 'send':
          return { caller, run: (a) => a.send(caller, randomUUID(), 'hello') };
        default: {
          const command: MemberCommand =
            kind === 'leave'
              ? { kind }
              : kind === 'role'
                ? { kind, userId: target.id, role: pick(['moderator', 'member'] as const) }
                : kind === 'remove' || kind === 'ban'
                  ? { kind, userId: target.id, reason: 'r' }
                  : kind === 'unban'
                    ? { kind, userId: target.id }
                    : { kind, userId: target.id, until: new Date(Date.now() + pick([0, 1, 60, 3600]) * 1000).toISOString() };
          return { caller, run: (a) => a.member(caller, command) };
        }
      }
    };

    // 1,000 commands, 25 in flight at a time over the 10 rooms.
    for (let done = 0; done < 1_000; done += 25) {
      await Promise.all(
        Array.from({ length: 25 }, async () => {
          const actor = pick(actors);
          const { run } = randomCommand(actor);
          try {
            const result = await run(actor);
            count(result === null ? 'noop' : 'written');
          } catch (err) {
            if (!(err instanceof DomainError)) throw err;
            count(err.code);
          }
        }),
      );
    }
    const summary = Object.fromEntries(outcomes);
    // Enough of them changed something for the comparison to mean anything.
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM room_events WHERE room_id = ANY($1::uuid[]) AND type LIKE 'member.%'`, [roomIds]);
    const memberEvents = rows[0]!.n;
    expect({ seed, summary, enough: memberEvents > 200 }).toEqual({ seed, summary, enough: true });

    for (const [i, roomId] of roomIds.entries()) {
      const live = await membership.rowsOf(roomId);
      // The gateway's own fold agrees with what it wrote.
      expect({ seed, roomId, rows: membershipRows(actors[i]!.view) }).toEqual({ seed, roomId, rows: live });
      const rebuilt = await membership.rebuild(roomId);
      expect({ seed, roomId, rows: rebuilt!.rows }).toEqual({ seed, roomId, rows: live });
      expect(await membership.rowsOf(roomId)).toEqual(live);
      expect(rebuilt!.headSeq).toBe(actors[i]!.headSeq);
    }
    // eslint-disable-next-line no-console
    console.log(`membership property run: seed ${seed}, ${memberEvents} member events written, outcomes ${JSON.stringify(summary)}`);
  });

  it('resumes from a format-1 snapshot (older than membership): the creator owns the room again, and later member events fold on top', async () => {
    const owner = await newUser('owner');
    const bob = await newUser('bob');
    const { room } = await rooms.create(uniqueName('room'), owner, 'public');
    const first = await gateway().load(room.id);
    for (let i = 0; i < 3; i++) await first.send(owner, `m${i}`, `message ${i}`);
    // The document an older gateway wrote: the same state without the membership part.
    const legacy = serializeRoomState(first.view) as unknown as Record<string, unknown>;
    for (const key of ['visibility', 'ownerId', 'members', 'invited', 'banned']) delete legacy[key];
    // Formats before 4 keyed the dedup window by dedupKey strings, not fingerprints.
    legacy.sent = (await log.readAfter(room.id, 0, 100)).filter((e) => e.clientMsgId && e.actor).map((e) => [dedupKey(e.actor!.id, e.clientMsgId!), e.seq, e.ts]);
    expect(legacy.sent).toHaveLength(3);
    const seq = first.headSeq;
    const json = JSON.stringify({ format: 1, roomId: room.id, seq, createdAt: new Date().toISOString(), checksum: createHash('sha256').update(JSON.stringify(legacy)).digest('hex'), state: legacy });
    const writer = new GroupCommitWriter(log);
    writers.push(writer);
    const resumed = await RoomActor.load(room.id, {
      gatewayId: uniqueName('gw'),
      rooms,
      events: log,
      users,
      writer,
      channel: new NullChannel(),
      onLost: () => undefined,
      snapshots: {
        loadNewest: async () => ({ state: decodeSnapshotDocument(json, { roomId: room.id, seq }), seq }),
        save: async () => ({ outcome: 'saved' as const, seq, bytes: 0 }),
      },
    });
    expect(resumed!.loadReport).toMatchObject({ snapshotSeq: seq, replayedEvents: 0 });
    expect(membershipRows(resumed!.view)).toEqual(membershipRows(first.view));
    await resumed!.join(bob, undefined, () => undefined);
    await expect(resumed!.member(bob, { kind: 'ban', userId: owner.id, reason: '' })).rejects.toMatchObject({ code: 'forbidden' });
    expect(await resumed!.member(owner, { kind: 'role', userId: bob.id, role: 'moderator' })).toMatchObject({ seq: seq + 2 });
    expect((await membership.rebuild(room.id))!.rows).toEqual(membershipRows(resumed!.view));
  });

  it('refuses a muted member\'s new sends and edits, but answers a resend of an earlier one with its first result', async () => {
    const owner = await newUser('owner');
    const bob = await newUser('bob');
    const { room } = await rooms.create(uniqueName('room'), owner, 'public');
    const actor = await gateway().load(room.id);
    await actor.join(bob, undefined, () => undefined);
    const first = await actor.send(bob, 'before', 'said before the mute');
    await actor.member(owner, { kind: 'mute', userId: bob.id, until: new Date(Date.now() + 60_000).toISOString() });
    await expect(actor.send(bob, 'after', 'said while muted')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(actor.edit(bob, first.seq, 'edited while muted')).rejects.toMatchObject({ code: 'forbidden' });
    expect(await actor.send(bob, 'before', 'said before the mute')).toEqual(first);
    // Lifted (a mute ending now): bob posts again.
    await actor.member(owner, { kind: 'mute', userId: bob.id, until: new Date().toISOString() });
    expect((await actor.send(bob, 'after', 'said after the mute was lifted')).seq).toBeGreaterThan(first.seq);
    expect((await log.readAfter(room.id, 0, 100)).map((e) => e.type)).toEqual([
      'room.created',
      'member.joined',
      'message.posted',
      'member.muted',
      'member.muted',
      'message.posted',
    ]);
  });

  it('rebuild repairs a projection that was damaged by hand', async () => {
    const owner = await newUser('owner');
    const bob = await newUser('bob');
    const { room } = await rooms.create(uniqueName('room'), owner, 'public');
    const actor = await gateway().load(room.id);
    await actor.join(bob, undefined, () => undefined);
    await actor.member(owner, { kind: 'role', userId: bob.id, role: 'moderator' });
    const live = await membership.rowsOf(room.id);
    await db.pool.query('DELETE FROM room_members WHERE room_id = $1', [room.id]);
    await db.pool.query(`INSERT INTO room_members (room_id, user_id, username, status) VALUES ($1, $2, 'ghost', 'banned')`, [room.id, randomUUID()]);
    expect((await membership.rebuild(room.id))!.rows).toEqual(live);
    expect(await membership.rowsOf(room.id)).toEqual(live);
  });
});
