import type { EventEnvelope, EventType } from './events';
import {
  assertMayRead,
  assertMayWrite,
  decideMemberCommand,
  membershipAfter,
  membershipRowOf,
  membershipRows,
  moderates,
  readVerdict,
  type Caller,
  type MemberCommand,
} from './membership';
import { applyEvent, canModify, emptyRoomState, type RoomState } from './room-state';
import { expectDomainError } from './testing/expect-domain-error';

const ROOM = 'room-1';
const OWNER: Caller = { id: 'u-owner', username: 'olga', isAdmin: false };
const MOD: Caller = { id: 'u-mod', username: 'mona', isAdmin: false };
const MOD2: Caller = { id: 'u-mod2', username: 'mike', isAdmin: false };
const MEMBER: Caller = { id: 'u-member', username: 'mia', isAdmin: false };
const STRANGER: Caller = { id: 'u-stranger', username: 'sam', isAdmin: false };
const ADMIN: Caller = { id: 'u-admin', username: 'root', isAdmin: true };
const NOW = Date.UTC(2026, 0, 1);

/** Folds the event a command decides (if any) into `state` as the next seq; returns it. */
function run(state: RoomState, caller: Caller, command: MemberCommand): EventEnvelope | null {
  const decided = decideMemberCommand(state, caller, command);
  if (!decided) return null;
  const envelope = {
    roomId: ROOM,
    seq: state.headSeq + 1,
    type: decided.type as EventType,
    ts: new Date(NOW + state.headSeq).toISOString(),
    actor: { id: caller.id, username: caller.username },
    data: decided.data,
  } as EventEnvelope;
  applyEvent(state, envelope);
  return envelope;
}

/** A room of OWNER with MOD and MOD2 as moderators and MEMBER as a member. */
function room(visibility: 'public' | 'private' = 'public'): RoomState {
  const state = emptyRoomState(ROOM);
  applyEvent(state, { roomId: ROOM, seq: 1, type: 'room.created', ts: new Date(NOW).toISOString(), actor: OWNER, data: { name: 'r', visibility } });
  for (const user of [MOD, MOD2, MEMBER]) {
    if (visibility === 'private') run(state, OWNER, { kind: 'invite', userId: user.id, username: user.username });
    run(state, user, { kind: 'join' });
  }
  run(state, OWNER, { kind: 'role', userId: MOD.id, role: 'moderator' });
  run(state, OWNER, { kind: 'role', userId: MOD2.id, role: 'moderator' });
  return state;
}

describe('membership fold', () => {
  it('makes the creator the owner and keeps the visibility of room.created (public when absent)', () => {
    const state = room('private');
    expect(state.visibility).toBe('private');
    expect(state.ownerId).toBe(OWNER.id);
    expect(state.members.get(OWNER.id)?.role).toBe('owner');
    const legacy = emptyRoomState(ROOM);
    applyEvent(legacy, { roomId: ROOM, seq: 1, type: 'room.created', ts: new Date(NOW).toISOString(), actor: OWNER, data: { name: 'old' } });
    expect(legacy.visibility).toBe('public');
  });

  it('records joins, roles, invitations, bans and mutes as projection rows', () => {
    const state = room();
    run(state, MOD, { kind: 'ban', userId: STRANGER.id, reason: 'spam' });
    run(state, MOD, { kind: 'mute', userId: MEMBER.id, until: new Date(NOW + 60_000).toISOString() });
    expect(membershipRows(state)).toEqual([
      { userId: MEMBER.id, username: 'mia', status: 'member', role: 'member', mutedUntil: new Date(NOW + 60_000).toISOString() },
      { userId: MOD.id, username: 'mona', status: 'member', role: 'moderator', mutedUntil: null },
      { userId: MOD2.id, username: 'mike', status: 'member', role: 'moderator', mutedUntil: null },
      { userId: OWNER.id, username: 'olga', status: 'member', role: 'owner', mutedUntil: null },
      { userId: STRANGER.id, username: null, status: 'banned', role: null, mutedUntil: null },
    ]);
  });

  it('computes the row after an event without changing the state (membershipAfter)', () => {
    const state = room();
    const before = membershipRowOf(state, MEMBER.id);
    const event = {
      roomId: ROOM,
      seq: state.headSeq + 1,
      type: 'member.banned',
      ts: new Date(NOW).toISOString(),
      actor: MOD,
      data: { userId: MEMBER.id, reason: '' },
    } as EventEnvelope;
    expect(membershipAfter(state, event)).toEqual({ userId: MEMBER.id, row: { userId: MEMBER.id, username: 'mia', status: 'banned', role: null, mutedUntil: null } });
    expect(membershipRowOf(state, MEMBER.id)).toEqual(before);
  });
});

describe('who may read and join', () => {
  it('lets anyone read and join a public room once: member.joined only on the first join', () => {
    const state = room();
    expect(readVerdict(state, STRANGER)).toBe('ok');
    expect(run(state, STRANGER, { kind: 'join' })?.type).toBe('member.joined');
    expect(run(state, STRANGER, { kind: 'join' })).toBeNull();
  });

  it('refuses a private room to a user neither invited nor a member, and admits an invited one', () => {
    const state = room('private');
    expect(readVerdict(state, STRANGER)).toBe('not_member');
    expectDomainError('forbidden', () => assertMayRead(state, STRANGER));
    expectDomainError('forbidden', () => decideMemberCommand(state, STRANGER, { kind: 'join' }));
    run(state, MOD, { kind: 'invite', userId: STRANGER.id, username: STRANGER.username });
    expect(readVerdict(state, STRANGER)).toBe('ok');
    expect(run(state, STRANGER, { kind: 'join' })?.data).toEqual({ userId: STRANGER.id, username: 'sam', role: 'member' });
    expect(state.invited.has(STRANGER.id)).toBe(false);
  });

  it('refuses a banned user everywhere, public or private, until unbanned', () => {
    for (const visibility of ['public', 'private'] as const) {
      const state = room(visibility);
      run(state, MOD, { kind: 'ban', userId: MEMBER.id, reason: '' });
      expect(state.members.has(MEMBER.id)).toBe(false);
      expect(readVerdict(state, MEMBER)).toBe('banned');
      expectDomainError('forbidden', () => decideMemberCommand(state, MEMBER, { kind: 'join' }));
      expectDomainError('forbidden', () => assertMayWrite(state, MEMBER, NOW));
      run(state, MOD, { kind: 'unban', userId: MEMBER.id });
      expect(readVerdict(state, MEMBER)).toBe(visibility === 'public' ? 'ok' : 'not_member');
    }
  });

  it('lets a global admin read a private room without becoming a member', () => {
    const state = room('private');
    expect(readVerdict(state, ADMIN)).toBe('ok');
    expect(decideMemberCommand(state, ADMIN, { kind: 'join' })).toBeNull();
  });

  it('lets a removed user rejoin a public room', () => {
    const state = room();
    run(state, MOD, { kind: 'remove', userId: MEMBER.id, reason: 'cool down' });
    expect(state.members.has(MEMBER.id)).toBe(false);
    expect(run(state, MEMBER, { kind: 'join' })?.type).toBe('member.joined');
  });
});

describe('role rules', () => {
  it('a member cannot moderate', () => {
    const state = room();
    for (const command of [
      { kind: 'invite', userId: STRANGER.id, username: 'sam' },
      { kind: 'ban', userId: MOD.id, reason: '' },
      { kind: 'remove', userId: MOD.id, reason: '' },
      { kind: 'mute', userId: MOD.id, until: new Date(NOW + 1000).toISOString() },
      { kind: 'unban', userId: STRANGER.id },
      { kind: 'role', userId: MOD.id, role: 'member' },
    ] as MemberCommand[]) {
      expectDomainError('forbidden', () => decideMemberCommand(state, MEMBER, command));
    }
  });

  it('a moderator cannot ban, remove or mute the owner', () => {
    const state = room();
    expectDomainError('forbidden', () => decideMemberCommand(state, MOD, { kind: 'ban', userId: OWNER.id, reason: '' }));
    expectDomainError('forbidden', () => decideMemberCommand(state, MOD, { kind: 'remove', userId: OWNER.id, reason: '' }));
    expectDomainError('forbidden', () => decideMemberCommand(state, MOD, { kind: 'mute', userId: OWNER.id, until: new Date(NOW + 1000).toISOString() }));
  });

  it('a moderator cannot change roles; only the owner does', () => {
    const state = room();
    expectDomainError('forbidden', () => decideMemberCommand(state, MOD, { kind: 'role', userId: MEMBER.id, role: 'moderator' }));
    expect(run(state, OWNER, { kind: 'role', userId: MEMBER.id, role: 'moderator' })?.type).toBe('member.role_changed');
    expect(state.members.get(MEMBER.id)?.role).toBe('moderator');
  });

  it('a moderator cannot act against another moderator', () => {
    const state = room();
    expectDomainError('forbidden', () => decideMemberCommand(state, MOD, { kind: 'ban', userId: MOD2.id, reason: '' }));
    expectDomainError('forbidden', () => decideMemberCommand(state, MOD, { kind: 'remove', userId: MOD2.id, reason: '' }));
    expectDomainError('forbidden', () => decideMemberCommand(state, MOD, { kind: 'mute', userId: MOD2.id, until: new Date(NOW + 1000).toISOString() }));
    // The owner may.
    expect(run(state, OWNER, { kind: 'remove', userId: MOD2.id, reason: '' })?.type).toBe('member.removed');
  });

  it('the owner cannot leave, be demoted, removed or banned (not even by an admin)', () => {
    const state = room();
    expectDomainError('forbidden', () => decideMemberCommand(state, OWNER, { kind: 'leave' }));
    expectDomainError('forbidden', () => decideMemberCommand(state, OWNER, { kind: 'role', userId: OWNER.id, role: 'member' }));
    expectDomainError('forbidden', () => decideMemberCommand(state, ADMIN, { kind: 'ban', userId: OWNER.id, reason: '' }));
    expectDomainError('forbidden', () => decideMemberCommand(state, ADMIN, { kind: 'remove', userId: OWNER.id, reason: '' }));
    expect(state.members.get(OWNER.id)?.role).toBe('owner');
  });

  it('a member may leave; leaving twice writes nothing', () => {
    const state = room();
    expect(run(state, MEMBER, { kind: 'leave' })?.type).toBe('member.left');
    expect(run(state, MEMBER, { kind: 'leave' })).toBeNull();
  });

  it('a global admin acts as owner: changes roles and bans moderators in a room they are not in', () => {
    const state = room();
    expect(run(state, ADMIN, { kind: 'role', userId: MOD.id, role: 'member' })?.type).toBe('member.role_changed');
    expect(run(state, ADMIN, { kind: 'ban', userId: MOD2.id, reason: '' })?.type).toBe('member.banned');
    expect(moderates(state, ADMIN)).toBe(true);
  });

  it('refuses to invite a banned user, and writes nothing for an invitation of a member', () => {
    const state = room();
    run(state, MOD, { kind: 'ban', userId: STRANGER.id, reason: '' });
    expectDomainError('forbidden', () => decideMemberCommand(state, MOD, { kind: 'invite', userId: STRANGER.id, username: 'sam' }));
    expect(decideMemberCommand(state, MOD, { kind: 'invite', userId: MEMBER.id, username: 'mia' })).toBeNull();
  });

  it('a target the room does not know is not_found for role, remove and mute', () => {
    const state = room();
    expectDomainError('not_found', () => decideMemberCommand(state, OWNER, { kind: 'role', userId: STRANGER.id, role: 'moderator' }));
    expectDomainError('not_found', () => decideMemberCommand(state, MOD, { kind: 'remove', userId: STRANGER.id, reason: '' }));
    expectDomainError('not_found', () => decideMemberCommand(state, MOD, { kind: 'mute', userId: STRANGER.id, until: new Date(NOW).toISOString() }));
  });
});

describe('moderators delete any message', () => {
  it('owners and moderators (and admins) may delete, never edit, another user\'s message', () => {
    const state = room();
    applyEvent(state, { roomId: ROOM, seq: state.headSeq + 1, type: 'message.posted', ts: new Date(NOW).toISOString(), actor: MEMBER, data: { text: 'hi' } });
    const seq = state.headSeq;
    for (const who of [OWNER, MOD, ADMIN]) {
      expect(canModify(state, seq, who.id, 'delete', moderates(state, who))).toBe('ok');
      expect(canModify(state, seq, who.id, 'edit', moderates(state, who))).toBe('forbidden');
    }
    expect(canModify(state, seq, MOD2.id, 'delete', moderates(state, STRANGER))).toBe('forbidden');
  });
});

describe('mute', () => {
  it('refuses writes while in force, and not once it lapsed or was lifted', () => {
    const state = room();
    run(state, MOD, { kind: 'mute', userId: MEMBER.id, until: new Date(NOW + 10_000).toISOString() });
    expectDomainError('forbidden', () => assertMayWrite(state, MEMBER, NOW));
    expect(() => assertMayWrite(state, MEMBER, NOW + 10_001)).not.toThrow();
    run(state, MOD, { kind: 'mute', userId: MEMBER.id, until: new Date(NOW).toISOString() });
    expect(() => assertMayWrite(state, MEMBER, NOW)).not.toThrow();
  });
});
