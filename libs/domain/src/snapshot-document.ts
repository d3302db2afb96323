import { createHash } from 'node:crypto';
import { DEDUP_HASH_HEX } from './dedup-hash';
import {
  assembleRoomState,
  CorruptSnapshotError,
  deserializeRoomState,
  LAST_ENTRIES_FORMAT,
  READABLE_SNAPSHOT_FORMATS,
  type SerializedRoomState,
  type SnapshotDocument,
} from './room-snapshot';
import type { RoomState } from './room-state';
import { type ColumnarRoomState, columnarState, copyRoomState, fillWindows, parseColumns } from './snapshot-columns';

/**
 * Writing and reading snapshot documents (DESIGN.md invariant 5). A snapshot is only an
 * optimisation, so reading is about *detecting* a document that must not be trusted: a reader
 * that gets `CorruptSnapshotError` falls back to an older snapshot or to the full log; it never
 * repairs. Every format ever written is read (CONTRACT.md); the newest is written.
 *
 * Pure: no I/O. Hashing (node:crypto) is the only platform dependency.
 */

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Encodes `state` into a snapshot document for seq `state.headSeq`. Synchronous on purpose: the
 * caller's state keeps changing after this returns, and the JSON is the consistent copy.
 */
export function encodeSnapshotDocument(state: RoomState, createdAt: Date = new Date()): { json: string; checksum: string } {
  const copy = copyRoomState(state, createdAt);
  const stateJson = JSON.stringify(columnarState(copy));
  const checksum = sha256Hex(stateJson);
  const head = JSON.stringify({ format: copy.format, roomId: copy.roomId, seq: copy.headSeq, createdAt: copy.createdAt, checksum });
  // JSON.stringify(document) with `state` as its last key, without stringifying the state twice
  // (snapshot-encode.worker.mjs builds it the same way).
  return { json: `${head.slice(0, -1)},"state":${stateJson}}`, checksum };
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
  const format = doc.format;
  const frame = frameProblem(doc.state, expected);
  if (frame) throw new CorruptSnapshotError('state', `${where}: ${frame}`);
  const state = doc.state as Record<string, unknown>;
  const columns = format > LAST_ENTRIES_FORMAT ? parseColumns(state, expected.seq) : undefined;
  const problem =
    (typeof columns === 'string' ? columns : null) ??
    (format <= LAST_ENTRIES_FORMAT ? entriesProblem(state, expected, format) : null) ??
    (format >= 2 ? membershipProblem(state) : null) ??
    (format >= 3 ? reactionsProblem(state) : null);
  if (problem) throw new CorruptSnapshotError('state', `${where}: ${problem}`);
  if (columns !== undefined && typeof columns !== 'string') return assembleRoomState(state as unknown as ColumnarRoomState, (messages, sent) => fillWindows(columns, messages, sent));
  return deserializeRoomState(state as unknown as SerializedRoomState, format);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isSeq = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/** Shape check of a checksum-valid state: a document we wrote ourselves but with a bug still must not load. */
function frameProblem(state: unknown, expected: { roomId: string; seq: number }): string | null {
  if (!isObject(state)) return 'state is not an object';
  if (state.roomId !== expected.roomId) return `state is for room ${JSON.stringify(state.roomId)}`;
  if (state.headSeq !== expected.seq) return `state headSeq ${JSON.stringify(state.headSeq)} != seq ${expected.seq}`;
  if (typeof state.name !== 'string') return 'state name is not a string';
  return null;
}

/** The windows of formats 1–4: an array per entry. */
function entriesProblem(state: Record<string, unknown>, expected: { roomId: string; seq: number }, format: number): string | null {
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
