/**
 * The room's events folded into what the message list shows. Pure: no DOM, no sockets.
 *
 * Events reach the timeline from two streams: live delivery (ascending, from the join on) and
 * paging back (older pages, which arrive after newer events). Every change to a message (edit,
 * delete, reaction) is therefore kept as a register that the highest seq wins, so the result is
 * the same whatever order the events were applied in, and an event applied twice changes nothing.
 */
import type { EventEnvelope } from '../../../../libs/client/src/index';

export interface Author {
  id: string;
  username: string;
}

export interface MessageRow {
  kind: 'message';
  seq: number;
  ts: string;
  author: Author | null;
  /** The current text; null once deleted. */
  text: string | null;
  edited: boolean;
  deleted: boolean;
  replyTo: number | null;
  /** emoji → the user ids that have it, in the order they were first seen. */
  reactions: Map<string, string[]>;
}

export interface SystemRow {
  kind: 'system';
  seq: number;
  ts: string;
  type: string;
  actor: Author | null;
  data: Record<string, unknown>;
}

export type TimelineRow = MessageRow | SystemRow;

interface Register<T> {
  seq: number;
  value: T;
}

export class RoomTimeline {
  private readonly posted = new Map<number, EventEnvelope>();
  private readonly system = new Map<number, EventEnvelope>();
  private readonly seen = new Set<number>();
  /** target seq → the latest edit. */
  private readonly edits = new Map<number, Register<string>>();
  /** target seq → the seq of its deletion. */
  private readonly deletions = new Map<number, number>();
  /** `${target}\n${emoji}\n${userId}` → whether the reaction is there, by the latest event. */
  private readonly reactionRegisters = new Map<string, Register<boolean>>();
  /** target seq → emoji → user ids (rebuilt from the registers on change). */
  private readonly reactionKeys = new Map<number, Set<string>>();
  private sortedSeqs: number[] = [];

  /** Seqs of the rows shown, ascending (messages and membership events). */
  get seqs(): readonly number[] {
    return this.sortedSeqs;
  }

  get oldestSeq(): number | undefined {
    return this.sortedSeqs[0];
  }

  get newestSeq(): number | undefined {
    return this.sortedSeqs[this.sortedSeqs.length - 1];
  }

  /** Every event down to seq 1 (`room.created`) has been applied. */
  get complete(): boolean {
    return this.seen.has(1);
  }

  /** The oldest seq applied, counting events that show no row of their own (edits, reactions). */
  get oldestApplied(): number | undefined {
    let min: number | undefined;
    for (const seq of this.seen) if (min === undefined || seq < min) min = seq;
    return min;
  }

  /**
   * Applies one event; returns the seqs of the rows whose display changed (the event's own row,
   * or the message it edits, deletes or reacts to). An event seen before changes nothing.
   */
  apply(event: EventEnvelope): number[] {
    if (this.seen.has(event.seq)) return [];
    this.seen.add(event.seq);
    const data = (event.data ?? {}) as Record<string, unknown>;
    switch (event.type) {
      case 'message.posted':
        this.posted.set(event.seq, event);
        this.insertSeq(event.seq);
        return [event.seq];
      case 'message.edited': {
        const target = Number(data.seq);
        const current = this.edits.get(target);
        if (!current || current.seq < event.seq) this.edits.set(target, { seq: event.seq, value: String(data.text ?? '') });
        return [target];
      }
      case 'message.deleted': {
        const target = Number(data.seq);
        if (!this.deletions.has(target)) this.deletions.set(target, event.seq);
        return [target];
      }
      case 'reaction.added':
      case 'reaction.removed': {
        const target = Number(data.seq);
        const userId = event.actor?.id ?? '';
        const key = `${target}\n${String(data.emoji)}\n${userId}`;
        const current = this.reactionRegisters.get(key);
        if (!current || current.seq < event.seq) this.reactionRegisters.set(key, { seq: event.seq, value: event.type === 'reaction.added' });
        let keys = this.reactionKeys.get(target);
        if (!keys) this.reactionKeys.set(target, (keys = new Set()));
        keys.add(key);
        return [target];
      }
      default:
        // room.created and member.*: a system row. Unknown types are shown as system rows too
        // (the contract only ever adds types; a plain line is better than a silent gap).
        this.system.set(event.seq, event);
        this.insertSeq(event.seq);
        return [event.seq];
    }
  }

  has(seq: number): boolean {
    return this.posted.has(seq) || this.system.has(seq);
  }

  /**
   * Forgets the oldest rows so that at most `keepRows` remain, and returns their seqs: a tab left
   * open for days in a busy room must not grow without bound. Paging back brings them again.
   * Everything applied below the cut is forgotten with them, since a page back returns those
   * events again; edits, deletions and reactions from above the cut, which no page back
   * returns, are kept (their targets may be below it).
   */
  trimTo(keepRows: number): number[] {
    const excess = this.sortedSeqs.length - Math.max(1, keepRows);
    if (excess <= 0) return [];
    const removed = this.sortedSeqs.slice(0, excess);
    this.sortedSeqs = this.sortedSeqs.slice(excess);
    const cut = this.sortedSeqs[0]!; // the oldest row kept
    for (const seq of removed) {
      this.posted.delete(seq);
      this.system.delete(seq);
    }
    for (const seq of this.seen) if (seq < cut) this.seen.delete(seq);
    for (const [target, edit] of this.edits) if (edit.seq < cut) this.edits.delete(target);
    for (const [target, seq] of this.deletions) if (seq < cut) this.deletions.delete(target);
    for (const [key, register] of this.reactionRegisters) {
      if (register.seq >= cut) continue;
      this.reactionRegisters.delete(key);
      const target = Number(key.slice(0, key.indexOf('\n')));
      const keys = this.reactionKeys.get(target);
      keys?.delete(key);
      if (keys?.size === 0) this.reactionKeys.delete(target);
    }
    return removed;
  }

  /** The row as it is to be shown now, or undefined for a seq without a row (not loaded yet). */
  row(seq: number): TimelineRow | undefined {
    const posted = this.posted.get(seq);
    if (posted) {
      const data = (posted.data ?? {}) as { text?: unknown; replyTo?: unknown };
      const deleted = this.deletions.has(seq);
      const edit = this.edits.get(seq);
      return {
        kind: 'message',
        seq,
        ts: posted.ts,
        author: posted.actor ? { id: posted.actor.id, username: posted.actor.username } : null,
        text: deleted ? null : (edit?.value ?? String(data.text ?? '')),
        edited: !deleted && edit !== undefined,
        deleted,
        replyTo: typeof data.replyTo === 'number' ? data.replyTo : null,
        reactions: deleted ? new Map() : this.reactionsOf(seq),
      };
    }
    const system = this.system.get(seq);
    if (!system) return undefined;
    return { kind: 'system', seq, ts: system.ts, type: system.type, actor: system.actor ?? null, data: (system.data ?? {}) as Record<string, unknown> };
  }

  /** Rows that quote this message (to re-render when it is edited or deleted). */
  repliesTo(seq: number): number[] {
    const out: number[] = [];
    for (const [replySeq, event] of this.posted) if ((event.data as { replyTo?: unknown })?.replyTo === seq) out.push(replySeq);
    return out;
  }

  private reactionsOf(seq: number): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const key of this.reactionKeys.get(seq) ?? []) {
      if (!this.reactionRegisters.get(key)?.value) continue;
      const [, emoji, userId] = key.split('\n') as [string, string, string];
      const users = out.get(emoji) ?? [];
      users.push(userId);
      out.set(emoji, users);
    }
    return out;
  }

  private insertSeq(seq: number): void {
    const list = this.sortedSeqs;
    if (list.length === 0 || list[list.length - 1]! < seq) {
      list.push(seq);
      return;
    }
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]! < seq) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, seq);
  }
}

/** A membership or room event as one line of plain English; `nameOf` resolves user ids. */
export function describeSystemRow(row: SystemRow, nameOf: (userId: string) => string): string {
  const actor = row.actor?.username ?? 'someone';
  const target = typeof row.data.userId === 'string' ? (typeof row.data.username === 'string' ? row.data.username : nameOf(row.data.userId)) : '';
  switch (row.type) {
    case 'room.created':
      return `${actor} created the room`;
    case 'member.joined':
      return `${target || actor} joined`;
    case 'member.left':
      return `${target || actor} left`;
    case 'member.invited':
      return `${actor} invited ${target}`;
    case 'member.role_changed':
      return `${actor} made ${target} ${row.data.role === 'moderator' ? 'a moderator' : 'a member'}`;
    case 'member.removed':
      return `${actor} removed ${target}`;
    case 'member.banned':
      return `${actor} banned ${target}`;
    case 'member.unbanned':
      return `${actor} unbanned ${target}`;
    case 'member.muted': {
      const until = typeof row.data.until === 'string' ? Date.parse(row.data.until) : NaN;
      return Number.isFinite(until) && until > Date.parse(row.ts) ? `${actor} muted ${target}` : `${actor} unmuted ${target}`;
    }
    default:
      return `${actor}: ${row.type}`;
  }
}

/** The first `max` characters of a quoted message, on one line. */
export function excerpt(text: string, max = 80): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
