/**
 * When each room was last in use, from periodic observations: pure, so the idle rule is
 * unit-tested without sockets or timers. A room counts as in use while a socket holds it or a
 * command or commit is in flight; it is due for unloading once it has been unused for `idleMs`.
 */
export class IdleTracker<K> {
  private readonly lastUsed = new Map<K, number>();

  constructor(private readonly idleMs: number) {}

  /**
   * Records one observation of `key` at `now` and says whether it is due: unused now and for
   * at least `idleMs` since it was last seen in use (or first seen).
   */
  observe(key: K, inUse: boolean, now: number): boolean {
    const last = this.lastUsed.get(key);
    if (inUse || last === undefined) {
      this.lastUsed.set(key, now);
      return false;
    }
    return now - last >= this.idleMs;
  }

  /** Marks `key` in use at `now` (e.g. a socket just left: the idle time counts from here). */
  touch(key: K, now: number): void {
    this.lastUsed.set(key, now);
  }

  /** Drops every key not in `present`, so rooms unloaded or lost leave nothing behind. */
  retain(present: ReadonlySet<K>): void {
    for (const key of this.lastUsed.keys()) if (!present.has(key)) this.lastUsed.delete(key);
  }

  get size(): number {
    return this.lastUsed.size;
  }
}
