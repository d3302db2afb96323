import { TYPING_LAPSE_MS, type PresenceUser } from '../../../../libs/domain/src';

/**
 * Who is typing in each room: gateway memory only, never logged (CONTRACT.md `typing`). A typing
 * state lapses `lapseMs` after its last renewal, or at once when `stop` is called (the user
 * said so, or their last socket in the room left). `onChange(roomId)` is called only when a
 * room's set of typing users changes, so a renewal costs no broadcast.
 *
 * Bounded: one entry and one timer per typing user, removed with the state; an empty room's map
 * is dropped.
 */
export class TypingTracker {
  private readonly rooms = new Map<string, Map<string, { username: string; timer: NodeJS.Timeout }>>();

  constructor(
    private readonly onChange: (roomId: string) => void,
    private readonly lapseMs: number = TYPING_LAPSE_MS,
  ) {}

  /** Starts or renews `user`'s typing state; true when the set changed (they were not typing). */
  start(roomId: string, user: PresenceUser): boolean {
    let typing = this.rooms.get(roomId);
    if (!typing) this.rooms.set(roomId, (typing = new Map()));
    const current = typing.get(user.id);
    if (current) {
      current.timer.refresh();
      return false;
    }
    const timer = setTimeout(() => this.stop(roomId, user.id), this.lapseMs);
    timer.unref();
    typing.set(user.id, { username: user.username, timer });
    this.onChange(roomId);
    return true;
  }

  /** Ends `userId`'s typing state; true when the set changed (they were typing). */
  stop(roomId: string, userId: string): boolean {
    const typing = this.rooms.get(roomId);
    const current = typing?.get(userId);
    if (!typing || !current) return false;
    clearTimeout(current.timer);
    typing.delete(userId);
    if (typing.size === 0) this.rooms.delete(roomId);
    this.onChange(roomId);
    return true;
  }

  users(roomId: string): PresenceUser[] {
    return [...(this.rooms.get(roomId) ?? [])].map(([id, t]) => ({ id, username: t.username }));
  }

  /** Typing users held, across rooms (for tests and gauges). */
  get size(): number {
    let n = 0;
    for (const typing of this.rooms.values()) n += typing.size;
    return n;
  }

  /** Clears every timer (shutdown). */
  clear(): void {
    for (const typing of this.rooms.values()) for (const t of typing.values()) clearTimeout(t.timer);
    this.rooms.clear();
  }
}
