import type { PresenceUser } from '../../../../libs/domain/src';

/**
 * Who is in each room, counting sockets per user so a user with two tabs leaves only when the
 * last one closes. Pure bookkeeping; the transport broadcasts when `join`/`leave` report a change.
 */
export class PresenceTracker {
  private readonly rooms = new Map<string, Map<string, { username: string; sockets: number }>>();

  /** Returns true when the room's user list changed. */
  join(roomId: string, user: PresenceUser): boolean {
    let members = this.rooms.get(roomId);
    if (!members) this.rooms.set(roomId, (members = new Map()));
    const member = members.get(user.id);
    if (member) {
      member.sockets += 1;
      return false;
    }
    members.set(user.id, { username: user.username, sockets: 1 });
    return true;
  }

  /** Returns true when the room's user list changed. */
  leave(roomId: string, userId: string): boolean {
    const members = this.rooms.get(roomId);
    const member = members?.get(userId);
    if (!members || !member) return false;
    if (--member.sockets > 0) return false;
    members.delete(userId);
    if (members.size === 0) this.rooms.delete(roomId);
    return true;
  }

  users(roomId: string): PresenceUser[] {
    return [...(this.rooms.get(roomId) ?? [])].map(([id, m]) => ({ id, username: m.username }));
  }

  forgetRoom(roomId: string): void {
    this.rooms.delete(roomId);
  }
}
