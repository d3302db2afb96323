import type { MemberRole, RoomVisibility } from './events';
import { dedupHashHex, dedupHashOut, parseDedupHashHex } from './dedup-hash';
import { emptyRoomState, type MemberInfo, type RoomState } from './room-state';
import type { DedupWindow, MessageWindow } from './room-windows';

/**
 * Snapshot documents (DESIGN.md invariant 5): their formats, and a room state in the entries
 * form of formats 1–4. Writing and reading a document, and every check that decides whether one
 * may be trusted, are in snapshot-document.ts; format 5's columns in snapshot-columns.ts.
 *
 * Pure: no I/O.
 */

/**
 * Version of the document layout. Bump it when `SerializedRoomState` changes shape, and keep
 * reading every older one (CONTRACT.md). 1: name and the two windows. 2: adds the membership
 * (visibility, owner, members, invited, banned). 3: adds the reactions of the window's messages.
 * 4: the dedup window's keys are 64-bit fingerprints (`dedupHashHex`, 16 hex digits) instead of
 * `dedupKey` strings; an older document's keys are fingerprinted as it loads.
 * 5: the two windows are base64 columns (snapshot-columns.ts) instead of an array per entry.
 */
export const SNAPSHOT_FORMAT = 5;
/** Every format `decodeSnapshotDocument` reads. */
export const READABLE_SNAPSHOT_FORMATS: readonly number[] = [1, 2, 3, 4, 5];
/** The last format whose windows are an array per entry (`SerializedRoomState`). */
export const LAST_ENTRIES_FORMAT = 4;

/**
 * RoomState as plain JSON, as formats 1–4 store it (format 5: ColumnarRoomState). Map entries
 * keep their insertion order (it decides window eviction).
 */
export interface SerializedRoomState {
  roomId: string;
  name: string;
  headSeq: number;
  /** [seq, authorId, deleted], oldest first. */
  messages: Array<[number, string | null, boolean]>;
  /** [key, seq, ts], oldest first. The key is `dedupHashHex` from format 4 on, `dedupKey` before. */
  sent: Array<[string, number, string]>;
  /** Format 2 on; absent in format 1 (every room was public then). */
  visibility?: RoomVisibility;
  ownerId?: string | null;
  /** [userId, username, role, mutedUntil]. */
  members?: Array<[string, string, MemberRole, string | null]>;
  /** [userId, username]. */
  invited?: Array<[string, string]>;
  /** [userId, username or null]. */
  banned?: Array<[string, string | null]>;
  /**
   * Format 3 on; absent before (no reactions existed). [seq, [[emoji, [userId…]]…]] for the
   * window's messages that have reactions, in the window's order of them.
   */
  reactions?: Array<[number, Array<[string, string[]]>]>;
}

/**
 * The stored document. `checksum` is the sha256 hex of `JSON.stringify(state)`. `S` is the
 * state's form: `SerializedRoomState` up to format 4, `ColumnarRoomState` from format 5.
 */
export interface SnapshotDocument<S = SerializedRoomState> {
  format: number;
  roomId: string;
  seq: number;
  /** ISO-8601 UTC: when the document was encoded (informational, not covered by the checksum). */
  createdAt: string;
  checksum: string;
  state: S;
}

export type CorruptSnapshotReason = 'json' | 'format' | 'mismatch' | 'checksum' | 'state';

/** A snapshot document that must not be used. `reason` says which check failed. */
export class CorruptSnapshotError extends Error {
  constructor(
    readonly reason: CorruptSnapshotReason,
    message: string,
  ) {
    super(message);
    this.name = 'CorruptSnapshotError';
  }
}

export function serializeRoomState(state: RoomState): SerializedRoomState {
  const messages: SerializedRoomState['messages'] = [];
  state.messages.forEach((seq, authorId, deleted) => messages.push([seq, authorId, deleted]));
  const sent: SerializedRoomState['sent'] = [];
  state.sent.forEach((hi, lo, seq, tsMs, tsText) => sent.push([dedupHashHex(hi, lo), seq, tsText ?? new Date(tsMs).toISOString()]));
  return {
    roomId: state.roomId,
    name: state.name,
    headSeq: state.headSeq,
    messages,
    sent,
    ...serializeMembership(state),
    reactions: serializeReactions(state),
  };
}

/** The format-3 part: the reactions (the worker encoder writes it last, as here). */
export function serializeReactions(state: RoomState): NonNullable<SerializedRoomState['reactions']> {
  const reactions: NonNullable<SerializedRoomState['reactions']> = [];
  state.messages.forEachReactions((seq, byEmoji) => {
    const entry: Array<[string, string[]]> = [];
    byEmoji.forEach((users, emoji) => entry.push([emoji, [...users]]));
    reactions.push([seq, entry]);
  });
  return reactions;
}

/** The format-2 part of the state, in its key order (the worker encoder writes the same). */
export function serializeMembership(state: RoomState): Required<Pick<SerializedRoomState, 'visibility' | 'ownerId' | 'members' | 'invited' | 'banned'>> {
  const members: NonNullable<SerializedRoomState['members']> = [];
  for (const [id, m] of state.members) members.push([id, m.username, m.role, m.mutedUntil]);
  return {
    visibility: state.visibility,
    ownerId: state.ownerId,
    members,
    invited: [...state.invited],
    banned: [...state.banned],
  };
}

/**
 * Rebuilds the windows and maps in the serialized order, from a state of snapshot format
 * `format` (1–4: the entries form). Trusts its input's shape (decodeSnapshotDocument checks it first).
 */
export function deserializeRoomState(s: SerializedRoomState, format: number = LAST_ENTRIES_FORMAT): RoomState {
  return assembleRoomState(s, (messages, sent) => {
    for (const [seq, authorId, deleted] of s.messages) messages.add(seq, authorId, deleted);
    for (const [key, seq, ts] of s.sent) {
      if (format >= 4) {
        parseDedupHashHex(key);
        sent.setHashed(dedupHashOut.hi, dedupHashOut.lo, seq, ts);
      } else {
        const newline = key.indexOf('\n');
        sent.set(key.slice(0, newline), key.slice(newline + 1), seq, ts);
      }
    }
  });
}

/** What every format's state holds besides the two windows. */
export type RoomStateFrame = Pick<SerializedRoomState, 'roomId' | 'name' | 'headSeq' | 'visibility' | 'ownerId' | 'members' | 'invited' | 'banned' | 'reactions'>;

/**
 * A RoomState from a serialized state's frame, its windows filled by `fillWindows` (oldest
 * first) before the reactions are put on their messages.
 */
export function assembleRoomState(s: RoomStateFrame, fillWindows: (messages: MessageWindow, sent: DedupWindow) => void): RoomState {
  const windows = emptyRoomState(s.roomId);
  fillWindows(windows.messages, windows.sent);
  for (const [seq, byEmoji] of s.reactions ?? []) {
    for (const [emoji, users] of byEmoji) for (const userId of users) windows.messages.addReaction(seq, emoji, userId);
  }
  const members = new Map<string, MemberInfo>();
  for (const [id, username, role, mutedUntil] of s.members ?? []) members.set(id, { username, role, mutedUntil });
  return {
    roomId: s.roomId,
    name: s.name,
    headSeq: s.headSeq,
    // Format 1 predates membership: every room was public, and its owner is not in the
    // document. The loader adopts it from the room's record (`adoptLegacyOwner`).
    visibility: s.visibility ?? 'public',
    ownerId: s.ownerId ?? null,
    members,
    invited: new Map(s.invited ?? []),
    banned: new Map(s.banned ?? []),
    messages: windows.messages,
    sent: windows.sent,
  };
}

/**
 * After loading a format-1 snapshot (no membership in it): the room's creator, from its record,
 * is its owner, as folding its `room.created` would have made them. A no-op for any other state.
 */
export function adoptLegacyOwner(state: RoomState, creator: { id: string; username: string }): void {
  if (state.ownerId !== null || state.headSeq === 0) return;
  state.ownerId = creator.id;
  if (!state.members.has(creator.id)) state.members.set(creator.id, { username: creator.username, role: 'owner', mutedUntil: null });
}
