import { DomainError } from './errors';
import type { EventDataByType, EventEnvelope, MemberRole, RoomVisibility } from './events';
import { DedupWindow, dedupKey, MessageWindow, type CommittedRef, type MessageInfo, type MessageReactions } from './room-windows';
import { MAX_REACTIONS_PER_MESSAGE, MAX_REACTIONS_PER_USER } from './socket-events';

export * from './dedup-hash';
export type { ReactionColumns } from './reaction-table';
export { DedupWindow, dedupKey, MessageWindow, type CommittedRef, type MessageInfo, type MessageReactions };

/**
 * The folded state of one room as its owning gateway holds it. It is deliberately bounded:
 * only a window of recent messages and recent client message ids is kept, so memory, snapshot
 * size and resume time do not grow with a room's total history. Anything older is answered
 * from the log itself (see RoomActor). The windows' layout is in room-windows.ts.
 */

/** A member of the room as the log's fold knows them. */
export interface MemberInfo {
  username: string;
  role: MemberRole;
  /** ISO-8601 UTC of the last `member.muted` (may be in the past: not muted then), or null. */
  mutedUntil: string | null;
}

export interface RoomState {
  roomId: string;
  name: string;
  headSeq: number;
  visibility: RoomVisibility;
  /** The creator (actor of `room.created`); null only before seq 1 is folded. */
  ownerId: string | null;
  /**
   * Membership, folded from `room.created` and the `member.*` events. Not windowed: it is the
   * room's access list and grows with its members, not with its history (or time).
   */
  members: Map<string, MemberInfo>;
  /** userId → username of invitations not yet accepted. */
  invited: Map<string, string>;
  /** userId → username (null when the log never named them) of banned users. */
  banned: Map<string, string | null>;
  /** seq → author/deleted for the most recent `MESSAGE_WINDOW` messages. */
  messages: MessageWindow;
  /**
   * (actorId, clientMsgId) → first result, for the most recent `DEDUP_WINDOW` sends, by 64-bit
   * fingerprint: a hit is a candidate that the actor confirms (see DedupWindow).
   */
  sent: DedupWindow;
}

export const MESSAGE_WINDOW = 5_000;
export const DEDUP_WINDOW = 10_000;

export function emptyRoomState(roomId: string): RoomState {
  return {
    roomId,
    name: '',
    headSeq: 0,
    visibility: 'public',
    ownerId: null,
    members: new Map(),
    invited: new Map(),
    banned: new Map(),
    messages: new MessageWindow(MESSAGE_WINDOW),
    sent: new DedupWindow(DEDUP_WINDOW),
  };
}

/**
 * Folds one committed event into the state. Deterministic and free of I/O; it updates `state`
 * in place (it runs on every commit, so it must not copy bounded-but-large maps) and returns it.
 * Events must arrive in seq order; an event at or below the head is ignored so a replay that
 * overlaps a snapshot gives the same state.
 */
export function applyEvent(state: RoomState, event: EventEnvelope): RoomState {
  if (event.seq <= state.headSeq) return state;
  if (event.seq !== state.headSeq + 1) {
    throw new Error(`room ${state.roomId}: event seq ${event.seq} does not follow head ${state.headSeq}`);
  }
  state.headSeq = event.seq;
  switch (event.type) {
    case 'room.created': {
      const data = event.data as EventDataByType['room.created'];
      state.name = data.name;
      state.visibility = data.visibility ?? 'public';
      if (event.actor) {
        state.ownerId = event.actor.id;
        state.members.set(event.actor.id, { username: event.actor.username, role: 'owner', mutedUntil: null });
      }
      break;
    }
    case 'message.posted':
      state.messages.add(event.seq, event.actor?.id ?? null);
      break;
    case 'reaction.added': {
      const d = event.data as EventDataByType['reaction.added'];
      if (event.actor) state.messages.addReaction(d.seq, d.emoji, event.actor.id);
      break;
    }
    case 'reaction.removed': {
      const d = event.data as EventDataByType['reaction.removed'];
      if (event.actor) state.messages.removeReaction(d.seq, d.emoji, event.actor.id);
      break;
    }
    case 'message.edited':
      break;
    case 'message.deleted':
      state.messages.markDeleted((event.data as { seq: number }).seq);
      break;
    default:
      if (event.type.startsWith('member.')) applyMemberEvent(state, event);
  }
  if (event.clientMsgId && event.actor) {
    state.sent.set(event.actor.id, event.clientMsgId, event.seq, event.ts);
  }
  return state;
}

/** The membership half of the fold (the events of CONTRACT.md's `member.*` rows). */
function applyMemberEvent(state: RoomState, event: EventEnvelope): void {
  switch (event.type) {
    case 'member.joined': {
      const d = event.data as EventDataByType['member.joined'];
      state.invited.delete(d.userId);
      state.members.set(d.userId, { username: d.username, role: d.role, mutedUntil: null });
      break;
    }
    case 'member.left': {
      const d = event.data as EventDataByType['member.left'];
      state.members.delete(d.userId);
      state.invited.delete(d.userId);
      break;
    }
    case 'member.invited': {
      const d = event.data as EventDataByType['member.invited'];
      state.invited.set(d.userId, d.username);
      break;
    }
    case 'member.role_changed': {
      const d = event.data as EventDataByType['member.role_changed'];
      const member = state.members.get(d.userId);
      if (member) member.role = d.role;
      break;
    }
    case 'member.removed': {
      const d = event.data as EventDataByType['member.removed'];
      state.members.delete(d.userId);
      state.invited.delete(d.userId);
      break;
    }
    case 'member.banned': {
      const d = event.data as EventDataByType['member.banned'];
      const username = state.members.get(d.userId)?.username ?? state.invited.get(d.userId) ?? state.banned.get(d.userId) ?? null;
      state.members.delete(d.userId);
      state.invited.delete(d.userId);
      state.banned.set(d.userId, username);
      break;
    }
    case 'member.unbanned': {
      const d = event.data as EventDataByType['member.unbanned'];
      state.banned.delete(d.userId);
      break;
    }
    case 'member.muted': {
      const d = event.data as EventDataByType['member.muted'];
      const member = state.members.get(d.userId);
      if (member) member.mutedUntil = d.until;
      break;
    }
  }
}

export type ModifyVerdict = 'ok' | 'forbidden' | 'not_found' | 'unknown';

/**
 * Decides whether `userId` may edit or delete the message at `seq`, from the in-memory window.
 * `unknown` means the message is older than the window and the caller must ask the log.
 */
export function canModify(
  state: RoomState,
  seq: number,
  userId: string,
  action: 'edit' | 'delete',
  moderates: boolean,
): ModifyVerdict {
  if (seq > state.headSeq) return 'not_found';
  const info = state.messages.get(seq);
  if (!info) {
    const oldest = state.messages.oldestSeq();
    return oldest !== undefined && seq > oldest ? 'not_found' : 'unknown';
  }
  return judge(info, userId, action, moderates);
}

/**
 * The same rule as `canModify`, for a message looked up in the log. `moderates`: the user is a
 * global admin or the room's owner or a moderator, who may delete (never edit) any message.
 */
export function judge(info: MessageInfo, userId: string, action: 'edit' | 'delete', moderates: boolean): ModifyVerdict {
  if (info.deleted) return 'not_found';
  if (info.authorId === userId) return 'ok';
  if (action === 'delete' && moderates) return 'ok';
  return 'forbidden';
}

/**
 * Where the message at `seq` stands for a reply or a reaction, from memory: `live`, `not_found`
 * (never posted, or deleted), or `unknown` (older than the window: ask the log).
 */
export function messageStatus(state: RoomState, seq: number): 'live' | 'not_found' | 'unknown' {
  if (seq > state.headSeq) return 'not_found';
  const info = state.messages.get(seq);
  if (info) return info.deleted ? 'not_found' : 'live';
  const oldest = state.messages.oldestSeq();
  return oldest !== undefined && seq > oldest ? 'not_found' : 'unknown';
}

/**
 * Decides `reaction:add` / `reaction:remove` on a message held in the window: `write` (append the
 * event) or `noop` (the user already has it, or does not: ack `seq: null`, write nothing). Throws
 * `forbidden` when an add would pass a cap (MAX_REACTIONS_PER_MESSAGE pairs on the message,
 * MAX_REACTIONS_PER_USER emoji of one user on it). The caller has checked the message is live.
 */
export function decideReaction(state: RoomState, seq: number, emoji: string, userId: string, add: boolean): 'write' | 'noop' {
  const has = state.messages.hasReaction(seq, emoji, userId);
  if (!add) return has ? 'write' : 'noop';
  if (has) return 'noop';
  const { total, byUser } = state.messages.reactionCounts(seq, userId);
  if (byUser >= MAX_REACTIONS_PER_USER) {
    throw new DomainError('forbidden', `at most ${MAX_REACTIONS_PER_USER} different reactions of yours on one message`);
  }
  if (total >= MAX_REACTIONS_PER_MESSAGE) throw new DomainError('forbidden', `message ${seq} has the most reactions it may have (${MAX_REACTIONS_PER_MESSAGE})`);
  return 'write';
}
