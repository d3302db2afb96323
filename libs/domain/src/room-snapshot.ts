import { createHash } from 'node:crypto';
import type { MemberRole, RoomVisibility } from './events';
import { DEDUP_HASH_HEX, dedupHashHex, dedupHashOut, parseDedupHashHex } from './dedup-hash';
import { emptyRoomState, type MemberInfo, type RoomState } from './room-state';

/**
 * Snapshot documents (DESIGN.md invariant 5): a snapshot is only an optimisation, so everything
 * here is about *detecting* a document that must not be trusted. A reader that gets
 * `CorruptSnapshotError` falls back to an older snapshot or to the full log; it never repairs.
 *
 * Pure: no I/O. Hashing (node:crypto) is the only platform dependency.
 */

/**
 * Version of the document layout. Bump it when `SerializedRoomState` changes shape, and keep
 * reading every older one (CONTRACT.md). 1: name and the two windows. 2: adds the membership
 * (visibility, owner, members, invited, banned). 3: adds the reactions of the window's messages.
 * 4: the dedup window's keys are 64-bit fingerprints (`dedupHashHex`, 16 hex digits) instead of
 * `dedupKey` strings; an older document's keys are fingerprinted as it loads.
 */
export const SNAPSHOT_FORMAT = 4;
/** Every format `decodeSnapshotDocument` reads. */
export const READABLE_SNAPSHOT_FORMATS: readonly number[] = [1, 2, 3, 4];

/** RoomState as plain JSON. Map entries keep their insertion order (it decides window eviction). */
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

/** The stored document. `checksum` is the sha256 hex of `JSON.stringify(state)`. */
export interface SnapshotDocument {
  format: number;
  roomId: string;
  seq: number;
  /** ISO-8601 UTC: when the document was encoded (informational, not covered by the checksum). */
  createdAt: string;
  checksum: string;
  state: SerializedRoomState;
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
 * `format`. Trusts its input's shape (decodeSnapshotDocument checks it first).
 */
export function deserializeRoomState(s: SerializedRoomState, format: number = SNAPSHOT_FORMAT): RoomState {
  const windows = emptyRoomState(s.roomId);
  for (const [seq, authorId, deleted] of s.messages) windows.messages.add(seq, authorId, deleted);
  for (const [key, seq, ts] of s.sent) {
    if (format >= 4) {
      parseDedupHashHex(key);
      windows.sent.setHashed(dedupHashOut.hi, dedupHashOut.lo, seq, ts);
    } else {
      const newline = key.indexOf('\n');
      windows.sent.set(key.slice(0, newline), key.slice(newline + 1), seq, ts);
    }
  }
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

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Encodes `state` into a snapshot document for seq `state.headSeq`. Synchronous on purpose: the
 * caller's state keeps changing after this returns, and the JSON is the consistent copy.
 */
export function encodeSnapshotDocument(state: RoomState, createdAt: Date = new Date()): { json: string; checksum: string } {
  const serialized = serializeRoomState(state);
  const checksum = sha256Hex(JSON.stringify(serialized));
  const document: SnapshotDocument = {
    format: SNAPSHOT_FORMAT,
    roomId: state.roomId,
    seq: state.headSeq,
    createdAt: createdAt.toISOString(),
    checksum,
    state: serialized,
  };
  return { json: JSON.stringify(document), checksum };
}

/**
 * Parses and verifies a snapshot document expected to hold room `expected.roomId` at
 * `expected.seq`. Throws `CorruptSnapshotError` on unparseable JSON, an unknown format version,
 * a room or seq other than expected, a checksum mismatch, or a malformed state (including a
 * state whose headSeq is not the document's seq).
 */
export function decodeSnapshotDocument(json: string, expected: { roomId: string; seq: number }): RoomState {
  const where = `snapshot ${expected.roomId}@${expected.seq}`;
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw new CorruptSnapshotError('json', `${where}: not JSON (${(err as Error).message})`);
  }
  if (!isObject(doc)) throw new CorruptSnapshotError('json', `${where}: not a JSON object`);
  if (typeof doc.format !== 'number' || !READABLE_SNAPSHOT_FORMATS.includes(doc.format)) {
    throw new CorruptSnapshotError('format', `${where}: format ${JSON.stringify(doc.format)}, expected one of ${READABLE_SNAPSHOT_FORMATS.join(', ')}`);
  }
  if (doc.roomId !== expected.roomId || doc.seq !== expected.seq) {
    throw new CorruptSnapshotError(
      'mismatch',
      `${where}: document is for ${JSON.stringify(doc.roomId)}@${JSON.stringify(doc.seq)}`,
    );
  }
  // JSON.parse keeps key order, so re-stringifying reproduces the hashed text of an intact document.
  if (typeof doc.checksum !== 'string' || doc.state === undefined || sha256Hex(JSON.stringify(doc.state)) !== doc.checksum) {
    throw new CorruptSnapshotError('checksum', `${where}: checksum mismatch`);
  }
  const problem =
    stateProblem(doc.state, expected, doc.format) ??
    (doc.format >= 2 ? membershipProblem(doc.state as Record<string, unknown>) : null) ??
    (doc.format >= 3 ? reactionsProblem(doc.state as Record<string, unknown>) : null);
  if (problem) throw new CorruptSnapshotError('state', `${where}: ${problem}`);
  return deserializeRoomState(doc.state as SerializedRoomState, doc.format);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isSeq = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/** Shape check of a checksum-valid state: a document we wrote ourselves but with a bug still must not load. */
function stateProblem(state: unknown, expected: { roomId: string; seq: number }, format: number): string | null {
  if (!isObject(state)) return 'state is not an object';
  if (state.roomId !== expected.roomId) return `state is for room ${JSON.stringify(state.roomId)}`;
  if (state.headSeq !== expected.seq) return `state headSeq ${JSON.stringify(state.headSeq)} != seq ${expected.seq}`;
  if (typeof state.name !== 'string') return 'state name is not a string';
  if (!Array.isArray(state.messages)) return 'state messages is not an array';
  for (const m of state.messages) {
    if (!Array.isArray(m) || m.length !== 3 || !isSeq(m[0]) || m[0] > expected.seq || !(m[1] === null || typeof m[1] === 'string') || typeof m[2] !== 'boolean') {
      return `bad message entry ${JSON.stringify(m)}`;
    }
  }
  if (!Array.isArray(state.sent)) return 'state sent is not an array';
  const isSentKey = format >= 4 ? (k: unknown) => typeof k === 'string' && DEDUP_HASH_HEX.test(k) : (k: unknown) => typeof k === 'string' && k.includes('\n');
  for (const e of state.sent) {
    if (!Array.isArray(e) || e.length !== 3 || !isSentKey(e[0]) || !isSeq(e[1]) || e[1] > expected.seq || typeof e[2] !== 'string') {
      return `bad sent entry ${JSON.stringify(e)}`;
    }
  }
  return null;
}

const ROLES = ['owner', 'moderator', 'member'];
const isNullableString = (v: unknown) => v === null || typeof v === 'string';

/** Shape check of the format-2 membership part. */
function membershipProblem(state: Record<string, unknown>): string | null {
  if (state.visibility !== 'public' && state.visibility !== 'private') return `bad visibility ${JSON.stringify(state.visibility)}`;
  if (!isNullableString(state.ownerId)) return 'state ownerId is not a string or null';
  if (!Array.isArray(state.members)) return 'state members is not an array';
  for (const m of state.members) {
    if (!Array.isArray(m) || m.length !== 4 || typeof m[0] !== 'string' || typeof m[1] !== 'string' || !ROLES.includes(m[2]) || !isNullableString(m[3])) {
      return `bad member entry ${JSON.stringify(m)}`;
    }
  }
  if (!Array.isArray(state.invited)) return 'state invited is not an array';
  for (const i of state.invited) {
    if (!Array.isArray(i) || i.length !== 2 || typeof i[0] !== 'string' || typeof i[1] !== 'string') return `bad invited entry ${JSON.stringify(i)}`;
  }
  if (!Array.isArray(state.banned)) return 'state banned is not an array';
  for (const b of state.banned) {
    if (!Array.isArray(b) || b.length !== 2 || typeof b[0] !== 'string' || !isNullableString(b[1])) return `bad banned entry ${JSON.stringify(b)}`;
  }
  return null;
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Shape check of the format-3 reactions part. */
function reactionsProblem(state: Record<string, unknown>): string | null {
  if (!Array.isArray(state.reactions)) return 'state reactions is not an array';
  for (const r of state.reactions) {
    const ok =
      Array.isArray(r) &&
      r.length === 2 &&
      isSeq(r[0]) &&
      Array.isArray(r[1]) &&
      (r[1] as unknown[]).every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && isStringArray(e[1]));
    if (!ok) return `bad reactions entry ${JSON.stringify(r)}`;
  }
  return null;
}
