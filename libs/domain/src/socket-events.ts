import type { AckErrorCode } from './errors';
import type { EventEnvelope } from './events';

/** Typed Socket.IO contract shared by the gateway, the web client and the tests. */
export interface AckError {
  ok: false;
  error: { code: AckErrorCode; message: string };
}

export interface CommitAck {
  ok: true;
  seq: number;
  ts: string;
}

export interface JoinAck {
  ok: true;
  room: { id: string; name: string; headSeq: number };
  events: EventEnvelope[];
  hasMore: boolean;
}

export interface JoinPayload {
  afterSeq?: number;
}
export interface SendPayload {
  clientMsgId: string;
  text: string;
  /** The seq of a message of this room that is not deleted. */
  replyTo?: number;
}
export interface EditPayload {
  seq: number;
  text: string;
}
export interface DeletePayload {
  seq: number;
}

export interface ReactionPayload {
  seq: number;
  /** 1–32 characters: one emoji or a `:shortcode:`. */
  emoji: string;
}
/** `seq: null`: the reaction was already there (or already gone), nothing was written. */
export type ReactionAck = CommitAck | { ok: true; seq: null };
export interface TypingPayload {
  active: boolean;
}
export type TypingAck = { ok: true };

/** Ack of a membership command; `seq: null` when it changed nothing and wrote nothing. */
export type MemberAck = CommitAck | { ok: true; seq: null };
export interface InvitePayload {
  username: string;
}
export interface RolePayload {
  userId: string;
  role: 'moderator' | 'member';
}
export interface KickPayload {
  userId: string;
  reason?: string;
}
export interface UnbanPayload {
  userId: string;
}
export interface MutePayload {
  userId: string;
  /** 0–604800; 0 lifts the mute. */
  seconds: number;
}
export type KickedReason = 'removed' | 'banned';

export interface ReadMarkPayload {
  seq: number;
}
/** Ack of `read:mark`: the caller's marker as stored, which never moves back. */
export interface ReadMarkAck {
  ok: true;
  lastReadSeq: number;
}

export interface PresenceUser {
  id: string;
  username: string;
}

export type MovedReason = 'drain' | 'failover' | 'idle';

export interface ClientToServerEvents {
  'room:join': (payload: JoinPayload, ack: (res: JoinAck | AckError) => void) => void;
  'message:send': (payload: SendPayload, ack: (res: CommitAck | AckError) => void) => void;
  'message:edit': (payload: EditPayload, ack: (res: CommitAck | AckError) => void) => void;
  'message:delete': (payload: DeletePayload, ack: (res: CommitAck | AckError) => void) => void;
  'reaction:add': (payload: ReactionPayload, ack: (res: ReactionAck | AckError) => void) => void;
  'reaction:remove': (payload: ReactionPayload, ack: (res: ReactionAck | AckError) => void) => void;
  typing: (payload: TypingPayload, ack: (res: TypingAck | AckError) => void) => void;
  'room:leave': (payload: Record<string, never>, ack: (res: MemberAck | AckError) => void) => void;
  'member:invite': (payload: InvitePayload, ack: (res: MemberAck | AckError) => void) => void;
  'member:role': (payload: RolePayload, ack: (res: MemberAck | AckError) => void) => void;
  'member:remove': (payload: KickPayload, ack: (res: MemberAck | AckError) => void) => void;
  'member:ban': (payload: KickPayload, ack: (res: MemberAck | AckError) => void) => void;
  'member:unban': (payload: UnbanPayload, ack: (res: MemberAck | AckError) => void) => void;
  'member:mute': (payload: MutePayload, ack: (res: MemberAck | AckError) => void) => void;
  'read:mark': (payload: ReadMarkPayload, ack: (res: ReadMarkAck | AckError) => void) => void;
}

export interface ServerToClientEvents {
  'room:event': (event: EventEnvelope) => void;
  'room:presence': (payload: { users: PresenceUser[] }) => void;
  'room:moved': (payload: { roomId: string; reason: MovedReason }) => void;
  'room:kicked': (payload: { roomId: string; reason: KickedReason }) => void;
  'room:typing': (payload: { users: PresenceUser[] }) => void;
}

/** Page sizes of CONTRACT.md: join without afterSeq returns the latest 50, with it at most 500. */
export const JOIN_LATEST_LIMIT = 50;
export const JOIN_AFTER_LIMIT = 500;
export const MAX_TEXT_LENGTH = 4000;
export const MAX_CLIENT_MSG_ID_LENGTH = 64;
/** `member:remove` / `member:ban` reason, characters. */
export const MAX_REASON_LENGTH = 200;
/** `member:mute` at most a week, seconds. */
export const MAX_MUTE_SECONDS = 604_800;
/** `reaction:add` / `reaction:remove` emoji, characters (CONTRACT.md). */
export const MAX_EMOJI_LENGTH = 32;
/**
 * Caps on a message's reactions (issue 11), so that no user can grow a room's folded state (and
 * its snapshots) without bound: at most this many (user, emoji) pairs on one message, and at most
 * `MAX_REACTIONS_PER_USER` different emoji from one user on one message. A reaction beyond either
 * cap is `forbidden`.
 */
export const MAX_REACTIONS_PER_MESSAGE = 500;
export const MAX_REACTIONS_PER_USER = 10;
/** A typing state lapses this long after its last renewal, ms (CONTRACT.md). */
export const TYPING_LAPSE_MS = 5_000;
