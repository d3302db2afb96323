import { DomainError } from './errors';
import type { EventDataByType, EventType, MemberRole } from './events';
import { applyEvent, DEDUP_WINDOW, DedupWindow, MESSAGE_WINDOW, MessageWindow, type RoomState } from './room-state';
import type { EventEnvelope } from './events';

/**
 * Membership rules (CONTRACT.md "Who may read and join a room" and the `member:*` commands), as
 * pure functions of the folded room state. The room actor decides every membership command with
 * them before it appends; the API asks the Postgres projection of the same fold.
 */

/** Who is acting: from the verified token or ticket, never from a payload. */
export interface Caller {
  id: string;
  username: string;
  /** A global admin (account role `admin`): may read every room and acts as its owner. */
  isAdmin: boolean;
}

/** What a membership command asks for, after edge validation (ids and usernames resolved). */
export type MemberCommand =
  | { kind: 'join' }
  | { kind: 'leave' }
  | { kind: 'invite'; userId: string; username: string }
  | { kind: 'role'; userId: string; role: 'moderator' | 'member' }
  | { kind: 'remove'; userId: string; reason: string }
  | { kind: 'ban'; userId: string; reason: string }
  | { kind: 'unban'; userId: string }
  /** `until`: ISO-8601 UTC; the present or the past lifts a mute. */
  | { kind: 'mute'; userId: string; until: string };

/** The event a command appends. */
export type MemberEvent = {
  [T in EventType]: { type: T; data: EventDataByType[T] };
}['member.joined' | 'member.left' | 'member.invited' | 'member.role_changed' | 'member.removed' | 'member.banned' | 'member.unbanned' | 'member.muted'];

/** The caller's role in the room, or null for a non-member (an admin is not a member by being one). */
export function roleOf(state: RoomState, userId: string): MemberRole | null {
  return state.members.get(userId)?.role ?? null;
}

/** The role the rules apply to the caller: global admins act as owner anywhere. */
export function effectiveRole(state: RoomState, caller: Caller): MemberRole | null {
  return caller.isAdmin ? 'owner' : roleOf(state, caller.id);
}

/** Whether the caller may delete any message of the room (not only their own). */
export function moderates(state: RoomState, caller: Caller): boolean {
  const role = effectiveRole(state, caller);
  return role === 'owner' || role === 'moderator';
}

export type ReadVerdict = 'ok' | 'banned' | 'not_member';

/**
 * Whether the caller may read the room (history, connection, handshake): a banned user never
 * (public or private); a private room only its members, invited users and global admins.
 */
export function readVerdict(state: RoomState, caller: Caller): ReadVerdict {
  if (caller.isAdmin) return 'ok';
  if (state.banned.has(caller.id)) return 'banned';
  if (state.visibility === 'public' || state.members.has(caller.id) || state.invited.has(caller.id)) return 'ok';
  return 'not_member';
}

export function assertMayRead(state: RoomState, caller: Caller): void {
  const verdict = readVerdict(state, caller);
  if (verdict === 'banned') throw new DomainError('forbidden', 'you are banned from this room');
  if (verdict === 'not_member') throw new DomainError('forbidden', 'this room is private');
}

/** Whether the caller's mute is in force at `now` (ms since the epoch). */
export function isMuted(state: RoomState, userId: string, now: number): boolean {
  const until = state.members.get(userId)?.mutedUntil;
  return until !== null && until !== undefined && Date.parse(until) > now;
}

/**
 * The check before a send, an edit or a reaction: the caller may read the room and is not muted
 * (CONTRACT.md: a muted member gets `forbidden` until the mute ends).
 */
export function assertMayWrite(state: RoomState, caller: Caller, now: number): void {
  assertMayRead(state, caller);
  if (isMuted(state, caller.id, now)) {
    throw new DomainError('forbidden', `you are muted until ${state.members.get(caller.id)!.mutedUntil}`);
  }
}

/**
 * Decides a membership command against the folded state: the event to append, null when the
 * command changes nothing (acknowledged with `seq: null`, nothing written), or a DomainError
 * (`forbidden` for a rule, `not_found` for a target the room does not know).
 */
export function decideMemberCommand(state: RoomState, caller: Caller, command: MemberCommand): MemberEvent | null {
  switch (command.kind) {
    case 'join':
      return decideJoin(state, caller);
    case 'leave':
      return decideLeave(state, caller);
    default:
      return decideModeration(state, caller, command);
  }
}

/**
 * `room:join`: the first join of a public room (or of a private room after an invitation) makes
 * the caller a member; a reconnect of a member logs nothing. Admins read private rooms without
 * becoming members.
 */
function decideJoin(state: RoomState, caller: Caller): MemberEvent | null {
  if (state.members.has(caller.id)) return null;
  if (state.banned.has(caller.id) && !caller.isAdmin) throw new DomainError('forbidden', 'you are banned from this room');
  if (state.visibility === 'private' && !state.invited.has(caller.id)) {
    if (caller.isAdmin) return null;
    throw new DomainError('forbidden', 'this room is private');
  }
  return { type: 'member.joined', data: { userId: caller.id, username: caller.username, role: 'member' } };
}

function decideLeave(state: RoomState, caller: Caller): MemberEvent | null {
  if (state.ownerId === caller.id) throw new DomainError('forbidden', 'the owner cannot leave the room');
  if (!state.members.has(caller.id) && !state.invited.has(caller.id)) return null;
  return { type: 'member.left', data: { userId: caller.id } };
}

type Moderation = Exclude<MemberCommand, { kind: 'join' } | { kind: 'leave' }>;

function decideModeration(state: RoomState, caller: Caller, command: Moderation): MemberEvent | null {
  const actorRole = effectiveRole(state, caller);
  if (actorRole !== 'owner' && actorRole !== 'moderator') {
    throw new DomainError('forbidden', 'only the owner or a moderator may do that');
  }
  const target = state.members.get(command.userId);
  // Rules about the target: the owner is untouchable; a moderator never acts on a moderator
  // (themselves included). A global admin acts as the owner, so only the owner rule binds them.
  const guardTarget = () => {
    if (command.userId === state.ownerId) throw new DomainError('forbidden', 'the owner cannot be the target of this');
    if (actorRole === 'moderator' && target?.role === 'moderator') {
      throw new DomainError('forbidden', 'a moderator cannot act against another moderator');
    }
  };
  switch (command.kind) {
    case 'invite':
      if (state.banned.has(command.userId)) throw new DomainError('forbidden', 'this user is banned; unban them first');
      if (target || state.invited.has(command.userId)) return null;
      return { type: 'member.invited', data: { userId: command.userId, username: command.username } };
    case 'role':
      if (actorRole !== 'owner') throw new DomainError('forbidden', 'only the owner changes roles');
      if (command.userId === state.ownerId) throw new DomainError('forbidden', 'the owner cannot be demoted');
      if (!target) throw new DomainError('not_found', 'no such member');
      if (target.role === command.role) return null;
      return { type: 'member.role_changed', data: { userId: command.userId, role: command.role } };
    case 'remove':
      guardTarget();
      if (!target && !state.invited.has(command.userId)) throw new DomainError('not_found', 'no such member');
      return { type: 'member.removed', data: { userId: command.userId, reason: command.reason } };
    case 'ban':
      guardTarget();
      if (state.banned.has(command.userId)) return null;
      return { type: 'member.banned', data: { userId: command.userId, reason: command.reason } };
    case 'unban':
      if (!state.banned.has(command.userId)) return null;
      return { type: 'member.unbanned', data: { userId: command.userId } };
    case 'mute':
      guardTarget();
      if (!target) throw new DomainError('not_found', 'no such member');
      return { type: 'member.muted', data: { userId: command.userId, until: command.until } };
  }
}

/** One row of the membership projection (Postgres `room_members`), as the fold decides it. */
export interface MembershipRow {
  userId: string;
  username: string | null;
  status: 'member' | 'invited' | 'banned';
  /** Only for `member`. */
  role: MemberRole | null;
  /** Only for `member`: the last mute's end, ISO-8601 (may be past), or null. */
  mutedUntil: string | null;
}

/** The projection row of one user after the fold, or null when the room holds nothing on them. */
export function membershipRowOf(state: RoomState, userId: string): MembershipRow | null {
  const member = state.members.get(userId);
  if (member) return { userId, username: member.username, status: 'member', role: member.role, mutedUntil: member.mutedUntil };
  if (state.banned.has(userId)) return { userId, username: state.banned.get(userId) ?? null, status: 'banned', role: null, mutedUntil: null };
  const invited = state.invited.get(userId);
  if (invited !== undefined) return { userId, username: invited, status: 'invited', role: null, mutedUntil: null };
  return null;
}

/** Every projection row of the room, sorted by user id (what a rebuild writes). */
export function membershipRows(state: RoomState): MembershipRow[] {
  const ids = new Set([...state.members.keys(), ...state.invited.keys(), ...state.banned.keys()]);
  return [...ids].sort().map((id) => membershipRowOf(state, id)!);
}

/** The user a member event is about. */
export function memberEventTarget(data: unknown): string {
  return (data as { userId: string }).userId;
}

/**
 * The projection row of the event's target after `event` (the next event of the room) is folded
 * into `state`, computed on a scratch copy of the membership: `state` itself is only changed
 * once the event is committed.
 */
export function membershipAfter(state: RoomState, event: EventEnvelope): { userId: string; row: MembershipRow | null } {
  const userId = memberEventTarget(event.data);
  const scratch: RoomState = {
    roomId: state.roomId,
    name: state.name,
    headSeq: event.seq - 1,
    visibility: state.visibility,
    ownerId: state.ownerId,
    members: state.members.has(userId) ? new Map([[userId, { ...state.members.get(userId)! }]]) : new Map(),
    invited: state.invited.has(userId) ? new Map([[userId, state.invited.get(userId)!]]) : new Map(),
    banned: state.banned.has(userId) ? new Map([[userId, state.banned.get(userId)!]]) : new Map(),
    // Empty windows: a member event touches neither.
    messages: new MessageWindow(MESSAGE_WINDOW),
    sent: new DedupWindow(DEDUP_WINDOW),
  };
  applyEvent(scratch, event);
  return { userId, row: membershipRowOf(scratch, userId) };
}
