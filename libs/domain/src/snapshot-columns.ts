import { endianness } from 'node:os';
import { serializeMembership, SNAPSHOT_FORMAT, type SerializedRoomState } from './room-snapshot';
import type { ReactionColumns, RoomState } from './room-state';
import type { DedupWindow, MessageWindow } from './room-windows';

/**
 * Snapshot format 5: a room's two windows stored as columns, each one typed array written as
 * base64 of its little-endian bytes, instead of one JSON array per entry (formats 1–4).
 *
 * Why: a busy room is snapshotted every SNAPSHOT_EVERY_EVENTS, and with full windows (5,000
 * messages, 10,000 sends) format 4 meant building 15,000 small arrays and 10,000 ISO timestamps,
 * then stringifying, hashing and gzipping ~815 KB of JSON: about 14 ms of CPU per snapshot at
 * gzip level 1. Columns are one memcpy and one base64 pass each (~410 KB of JSON, ~6 ms in all),
 * and reading them back parses a handful of strings instead of 15,000 arrays. On the 2-core
 * bench those encoder threads compete with the event loop and Postgres.
 *
 * The membership and the reactions stay as format 4 writes them (small, and already columns on
 * the way to the worker). libs/storage/src/snapshot-encode.worker.mjs writes the same bytes from
 * the same RoomStateCopy; snapshot-encoder.spec.ts compares them.
 *
 * Pure: no I/O.
 */

/**
 * A room state as parallel columns, the cheapest form to take on the event loop and to post to a
 * worker: the structured clone copies a few typed arrays and short string tables instead of one
 * small array per window entry or reaction, and timestamps travel as numbers. For a 1 MB room
 * with 5,000 reacted messages, copying the reactions as nested arrays took 5–27 ms on the loop
 * and cloning them 5–32 ms more, per snapshot. Measured for a 1 MB room (5k messages, 10k dedup
 * entries with 64-char ids, format 3): taking this copy and cloning it about 4 ms; cloning
 * serializeRoomState's nested arrays about 25 ms.
 */
export interface RoomStateCopy {
  format: number;
  roomId: string;
  name: string;
  headSeq: number;
  /** ISO-8601 UTC. */
  createdAt: string;
  /** The message window, oldest first: seq, author (an index into `authors`; -1: system), deleted (1/0). */
  messageSeqs: Float64Array<ArrayBuffer>;
  messageAuthors: Int32Array<ArrayBuffer>;
  messageDeleted: Uint8Array<ArrayBuffer>;
  /** The window's distinct author ids. */
  authors: string[];
  /** The dedup window, oldest first: the two lanes of each key's fingerprint, seq, ts as epoch ms. */
  sentHashHi: Uint32Array<ArrayBuffer>;
  sentHashLo: Uint32Array<ArrayBuffer>;
  sentSeqs: Float64Array<ArrayBuffer>;
  sentTsMs: Float64Array<ArrayBuffer>;
  /** [index, ts] for the rare entries whose ts is kept as text (their sentTsMs is NaN). */
  sentTsTexts: Array<[number, string]>;
  /** The format-2 membership part, already in its serialized form (small: one entry a member). */
  membership: Pick<SerializedRoomState, 'visibility' | 'ownerId' | 'members' | 'invited' | 'banned'>;
  /** The format-3 reactions, as the table's flat columns (nested when the document is written). */
  reactions: ReactionColumns;
}

/**
 * A consistent copy of `state`'s windows, in their order (it decides eviction after a load).
 * The windows' forEach allocates nothing per entry, so the copy's garbage is the columns alone.
 */
export function copyRoomState(state: RoomState, createdAt: Date): RoomStateCopy {
  const messageSeqs = new Float64Array(state.messages.size);
  const messageAuthors = new Int32Array(state.messages.size);
  const messageDeleted = new Uint8Array(state.messages.size);
  const authorIndex = new Map<string, number>();
  const authors: string[] = [];
  let i = 0;
  state.messages.forEach((seq, authorId, deleted) => {
    messageSeqs[i] = seq;
    let author = -1;
    if (authorId !== null) {
      author = authorIndex.get(authorId) ?? -1;
      if (author < 0) authorIndex.set(authorId, (author = authors.push(authorId) - 1));
    }
    messageAuthors[i] = author;
    messageDeleted[i] = deleted ? 1 : 0;
    i++;
  });
  const sentHashHi = new Uint32Array(state.sent.size);
  const sentHashLo = new Uint32Array(state.sent.size);
  const sentSeqs = new Float64Array(state.sent.size);
  const sentTsMs = new Float64Array(state.sent.size);
  const sentTsTexts: Array<[number, string]> = [];
  i = 0;
  state.sent.forEach((hi, lo, seq, tsMs, tsText) => {
    sentHashHi[i] = hi;
    sentHashLo[i] = lo;
    sentSeqs[i] = seq;
    sentTsMs[i] = tsMs;
    if (tsText !== undefined) sentTsTexts.push([i, tsText]);
    i++;
  });
  return {
    format: SNAPSHOT_FORMAT,
    roomId: state.roomId,
    name: state.name,
    headSeq: state.headSeq,
    createdAt: createdAt.toISOString(),
    messageSeqs,
    messageAuthors,
    messageDeleted,
    authors,
    sentHashHi,
    sentHashLo,
    sentSeqs,
    sentTsMs,
    sentTsTexts,
    membership: serializeMembership(state),
    reactions: state.messages.reactionColumns(),
  };
}

/** The state of a format-5 document, in its key order. Columns are base64 of little-endian bytes. */
export interface ColumnarRoomState {
  roomId: string;
  name: string;
  headSeq: number;
  /** The message window, oldest first. `seqs` Float64, `authors` Int32 (index into `authorIds`, -1: a system message), `deleted` Uint8 (1/0). */
  messages: { seqs: string; authors: string; authorIds: string[]; deleted: string };
  /** The dedup window, oldest first. `hashHi`/`hashLo` Uint32 fingerprint lanes, `seqs` Float64, `tsMs` Float64 (NaN where `tsTexts` holds the ts). */
  sent: { hashHi: string; hashLo: string; seqs: string; tsMs: string; tsTexts: Array<[number, string]> };
  visibility: NonNullable<SerializedRoomState['visibility']>;
  ownerId: string | null;
  members: NonNullable<SerializedRoomState['members']>;
  invited: NonNullable<SerializedRoomState['invited']>;
  banned: NonNullable<SerializedRoomState['banned']>;
  reactions: NonNullable<SerializedRoomState['reactions']>;
}

const LITTLE_ENDIAN = endianness() === 'LE';

type Column = Float64Array<ArrayBuffer> | Int32Array<ArrayBuffer> | Uint32Array<ArrayBuffer> | Uint8Array<ArrayBuffer>;

/** Base64 of `column`'s bytes in little-endian order, whatever the platform's. */
function base64Le(column: Column): string {
  const bytes = Buffer.from(column.buffer, column.byteOffset, column.byteLength);
  if (LITTLE_ENDIAN || column.BYTES_PER_ELEMENT === 1) return bytes.toString('base64');
  const swapped = Buffer.from(bytes);
  if (column.BYTES_PER_ELEMENT === 8) swapped.swap64();
  else swapped.swap32();
  return swapped.toString('base64');
}

/** `[[seq, [[emoji, [userId…]]…]]…]` (SerializedRoomState.reactions) from the table's flat columns. */
export function nestReactions(r: ReactionColumns): NonNullable<SerializedRoomState['reactions']> {
  const out: NonNullable<SerializedRoomState['reactions']> = new Array(r.seqs.length);
  let e = 0;
  let u = 0;
  for (let m = 0; m < out.length; m++) {
    const byEmoji: Array<[string, string[]]> = new Array(r.emojiCounts[m]!);
    for (let k = 0; k < byEmoji.length; k++, e++) {
      const users: string[] = new Array(r.userCounts[e]!);
      for (let x = 0; x < users.length; x++) users[x] = r.strings[r.users[u++]!]!;
      byEmoji[k] = [r.strings[r.emoji[e]!]!, users];
    }
    out[m] = [r.seqs[m]!, byEmoji];
  }
  return out;
}

/** The format-5 state of a copy (what the document's checksum covers, once stringified). */
export function columnarState(copy: RoomStateCopy): ColumnarRoomState {
  const m = copy.membership;
  return {
    roomId: copy.roomId,
    name: copy.name,
    headSeq: copy.headSeq,
    messages: { seqs: base64Le(copy.messageSeqs), authors: base64Le(copy.messageAuthors), authorIds: copy.authors, deleted: base64Le(copy.messageDeleted) },
    sent: {
      hashHi: base64Le(copy.sentHashHi),
      hashLo: base64Le(copy.sentHashLo),
      seqs: base64Le(copy.sentSeqs),
      tsMs: base64Le(copy.sentTsMs),
      tsTexts: copy.sentTsTexts,
    },
    visibility: m.visibility!,
    ownerId: m.ownerId ?? null,
    members: m.members!,
    invited: m.invited!,
    banned: m.banned!,
    reactions: nestReactions(copy.reactions),
  };
}

// ---- reading ---------------------------------------------------------------------------------

/** The windows of a format-5 state, decoded and checked. */
export interface ParsedColumns {
  messageSeqs: Float64Array;
  messageAuthors: Int32Array;
  authorIds: string[];
  messageDeleted: Uint8Array;
  sentHashHi: Uint32Array;
  sentHashLo: Uint32Array;
  sentSeqs: Float64Array;
  sentTsMs: Float64Array;
  /** index → ts text. */
  sentTsTexts: Map<number, string>;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** The epoch ms of 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the ts a window keeps as a number. */
const MIN_TS_MS = -62_167_219_200_000;
const MAX_TS_MS = 253_402_300_799_999;

/** A typed array from base64 of its little-endian bytes; null if `text` is not that. */
function columnFrom<T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(text: unknown, make: (length: number) => T): T | null {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !BASE64.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  const column = make(0);
  if (bytes.length % column.BYTES_PER_ELEMENT !== 0) return null;
  const out = make(bytes.length / column.BYTES_PER_ELEMENT);
  const view = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  bytes.copy(view);
  if (!LITTLE_ENDIAN && out.BYTES_PER_ELEMENT === 8) view.swap64();
  else if (!LITTLE_ENDIAN && out.BYTES_PER_ELEMENT === 4) view.swap32();
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSeqUpTo = (v: number, head: number) => Number.isInteger(v) && v >= 0 && v <= head;

/**
 * Decodes and checks the two windows of a checksum-valid format-5 state (a document we wrote
 * ourselves but with a bug still must not load): the columns' shapes and lengths, every seq an
 * integer up to `headSeq`, author indices in their table, flags 0/1, and each ts either a
 * number a canonical ISO-8601 text can carry or text given in `tsTexts`. A string names the
 * first problem found.
 */
export function parseColumns(state: Record<string, unknown>, headSeq: number): ParsedColumns | string {
  const messages = state.messages;
  if (!isObject(messages)) return 'state messages is not an object of columns';
  const messageSeqs = columnFrom(messages.seqs, (n) => new Float64Array(n));
  const messageAuthors = columnFrom(messages.authors, (n) => new Int32Array(n));
  const messageDeleted = columnFrom(messages.deleted, (n) => new Uint8Array(n));
  const authorIds = messages.authorIds;
  if (!messageSeqs || !messageAuthors || !messageDeleted) return 'a message column is not base64 of whole elements';
  if (!Array.isArray(authorIds) || !authorIds.every((a) => typeof a === 'string')) return 'state messages authorIds is not an array of strings';
  const count = messageSeqs.length;
  if (messageAuthors.length !== count || messageDeleted.length !== count) return `message columns of unequal lengths (${count}, ${messageAuthors.length}, ${messageDeleted.length})`;
  for (let i = 0; i < count; i++) {
    if (!isSeqUpTo(messageSeqs[i]!, headSeq)) return `message ${i}: seq ${messageSeqs[i]} is not an integer in 0..${headSeq}`;
    if (messageAuthors[i]! < -1 || messageAuthors[i]! >= authorIds.length) return `message ${i}: author index ${messageAuthors[i]} outside 0..${authorIds.length - 1}`;
    if (messageDeleted[i]! > 1) return `message ${i}: deleted flag ${messageDeleted[i]}`;
  }

  const sent = state.sent;
  if (!isObject(sent)) return 'state sent is not an object of columns';
  const sentHashHi = columnFrom(sent.hashHi, (n) => new Uint32Array(n));
  const sentHashLo = columnFrom(sent.hashLo, (n) => new Uint32Array(n));
  const sentSeqs = columnFrom(sent.seqs, (n) => new Float64Array(n));
  const sentTsMs = columnFrom(sent.tsMs, (n) => new Float64Array(n));
  if (!sentHashHi || !sentHashLo || !sentSeqs || !sentTsMs) return 'a sent column is not base64 of whole elements';
  const sends = sentSeqs.length;
  if (sentHashHi.length !== sends || sentHashLo.length !== sends || sentTsMs.length !== sends) return 'sent columns of unequal lengths';
  if (!Array.isArray(sent.tsTexts)) return 'state sent tsTexts is not an array';
  const sentTsTexts = new Map<number, string>();
  for (const entry of sent.tsTexts as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 2 || !Number.isInteger(entry[0]) || entry[0] < 0 || entry[0] >= sends || typeof entry[1] !== 'string' || sentTsTexts.has(entry[0])) {
      return `bad tsTexts entry ${JSON.stringify(entry)}`;
    }
    sentTsTexts.set(entry[0], entry[1]);
  }
  for (let i = 0; i < sends; i++) {
    if (!isSeqUpTo(sentSeqs[i]!, headSeq)) return `send ${i}: seq ${sentSeqs[i]} is not an integer in 0..${headSeq}`;
    const ms = sentTsMs[i]!;
    const ok = sentTsTexts.has(i) ? Number.isNaN(ms) : Number.isInteger(ms) && ms >= MIN_TS_MS && ms <= MAX_TS_MS;
    if (!ok) return `send ${i}: ts ${ms}${sentTsTexts.has(i) ? ' beside a ts text' : ''}`;
  }
  return { messageSeqs, messageAuthors, authorIds: authorIds as string[], messageDeleted, sentHashHi, sentHashLo, sentSeqs, sentTsMs, sentTsTexts };
}

/** Fills empty windows from parsed columns, oldest first (the order decides eviction later). */
export function fillWindows(columns: ParsedColumns, messages: MessageWindow, sent: DedupWindow): void {
  for (let i = 0; i < columns.messageSeqs.length; i++) {
    const author = columns.messageAuthors[i]!;
    messages.add(columns.messageSeqs[i]!, author < 0 ? null : columns.authorIds[author]!, columns.messageDeleted[i] === 1);
  }
  for (let i = 0; i < columns.sentSeqs.length; i++) {
    const text = columns.sentTsTexts.size > 0 ? columns.sentTsTexts.get(i) : undefined;
    if (text === undefined) sent.setHashedMs(columns.sentHashHi[i]!, columns.sentHashLo[i]!, columns.sentSeqs[i]!, columns.sentTsMs[i]!);
    else sent.setHashed(columns.sentHashHi[i]!, columns.sentHashLo[i]!, columns.sentSeqs[i]!, text);
  }
}
