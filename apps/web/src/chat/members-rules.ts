/**
 * Who may do what to whom in a room (CONTRACT.md "Gateway", membership commands), so the page
 * offers only the actions the server would accept. Pure. The server stays the authority: a
 * refused action still shows its error.
 */
import type { MemberRole } from '../api';

export interface Me {
  id: string;
  /** The caller's role in this room; null while unknown or when not a member. */
  role: MemberRole | null;
  /** A global admin may moderate every room. */
  isAdmin: boolean;
}

export interface MemberLike {
  id: string;
  role: MemberRole;
  mutedUntil: string | null;
}

export type MemberAction = 'make-moderator' | 'make-member' | 'mute' | 'unmute' | 'remove' | 'ban';

export const ACTION_LABELS: Record<MemberAction, string> = {
  'make-moderator': 'Make moderator',
  'make-member': 'Make member',
  mute: 'Mute 10 min',
  unmute: 'Unmute',
  remove: 'Remove',
  ban: 'Ban',
};

const isOwner = (me: Me) => me.role === 'owner' || me.isAdmin;
const isModerator = (me: Me) => isOwner(me) || me.role === 'moderator';

export function isMuted(member: MemberLike, now: number = Date.now()): boolean {
  return member.mutedUntil !== null && Date.parse(member.mutedUntil) > now;
}

/**
 * The actions `me` may take on `target`: never on oneself or the owner; a moderator only on
 * plain members; role changes by the owner only.
 */
export function memberActions(me: Me, target: MemberLike, now: number = Date.now()): MemberAction[] {
  if (target.id === me.id || target.role === 'owner' || !isModerator(me)) return [];
  if (!isOwner(me) && target.role !== 'member') return [];
  const actions: MemberAction[] = [];
  if (isOwner(me)) actions.push(target.role === 'moderator' ? 'make-member' : 'make-moderator');
  actions.push(isMuted(target, now) ? 'unmute' : 'mute', 'remove', 'ban');
  return actions;
}

export function canInvite(me: Me): boolean {
  return isModerator(me);
}

/** Authors delete their own messages; moderators, the owner and admins any message. */
export function canDelete(me: Me, authorId: string | undefined): boolean {
  return authorId === me.id || isModerator(me);
}

/** `#typing`'s text: nobody, one, two, or several people typing (never oneself). */
export function typingText(users: Array<{ id: string; username: string }>, selfId: string): string {
  const names = users.filter((u) => u.id !== selfId).map((u) => u.username);
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]} are typing…`;
}
