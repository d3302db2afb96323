/** The event types a room's log holds. Types are only ever added (CONTRACT.md "Event envelope"). */
export type EventType =
  | 'room.created'
  | 'message.posted'
  | 'message.edited'
  | 'message.deleted'
  | 'reaction.added'
  | 'reaction.removed'
  | 'member.joined'
  | 'member.left'
  | 'member.invited'
  | 'member.role_changed'
  | 'member.removed'
  | 'member.banned'
  | 'member.unbanned'
  | 'member.muted';

export type RoomVisibility = 'public' | 'private';
/** A member's role in one room (not the global `user`/`admin` role of an account). */
export type MemberRole = 'owner' | 'moderator' | 'member';

export interface EventDataByType {
  /** `visibility` is absent in rooms created before it existed: those are `public`. */
  'room.created': { name: string; visibility?: RoomVisibility };
  /** `replyTo`: the seq of an earlier, not deleted message of the same room. */
  'message.posted': { text: string; replyTo?: number };
  'message.edited': { seq: number; text: string };
  'message.deleted': { seq: number };
  'reaction.added': { seq: number; emoji: string };
  'reaction.removed': { seq: number; emoji: string };
  'member.joined': { userId: string; username: string; role: MemberRole };
  'member.left': { userId: string };
  'member.invited': { userId: string; username: string };
  'member.role_changed': { userId: string; role: MemberRole };
  'member.removed': { userId: string; reason: string };
  'member.banned': { userId: string; reason: string };
  'member.unbanned': { userId: string };
  /** `until`: ISO-8601 UTC; a time in the past means unmuted. */
  'member.muted': { userId: string; until: string };
}

export interface Actor {
  id: string;
  username: string;
}

/**
 * The public event envelope (CONTRACT.md "Event envelope"). `seq` starts at 1 with
 * `room.created` and is gap-free per room; `ts` is ISO-8601 UTC with milliseconds.
 */
export interface EventEnvelope<T extends EventType = EventType> {
  roomId: string;
  seq: number;
  type: T;
  ts: string;
  actor: Actor | null;
  data: EventDataByType[T];
  clientMsgId?: string;
}

export const EVENT_TYPES: readonly EventType[] = [
  'room.created',
  'message.posted',
  'message.edited',
  'message.deleted',
  'reaction.added',
  'reaction.removed',
  'member.joined',
  'member.left',
  'member.invited',
  'member.role_changed',
  'member.removed',
  'member.banned',
  'member.unbanned',
  'member.muted',
];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

export function isMemberEvent(type: EventType): boolean {
  return type.startsWith('member.');
}
