// The CPU-heavy half of saving a snapshot, run in a piscina worker thread so the gateway's event
// loop never serialises, hashes or compresses a room (see snapshot-encoder.ts, which posts the
// copy this file receives).
//
// Plain JavaScript that imports only Node built-ins on purpose: the same file runs from the
// source tree under jest (which cannot transform code inside a worker thread) and next to the
// built dist/ in production.
//
// It must produce exactly the bytes of encodeSnapshotDocument (libs/domain/src/snapshot-document.ts),
// so that every stored snapshot keeps loading: snapshot-encoder.spec.ts compares the two.
import { createHash } from 'node:crypto';
import { endianness, setPriority } from 'node:os';
import { gzipSync } from 'node:zlib';

// SNAPSHOT_GZIP_LEVEL of snapshot-encoder.ts (this file imports only built-ins).
const GZIP_LEVEL = 1;

// Below the event loop: when cores are short (a gateway on two), the loop that acknowledges
// sends must win over a background snapshot. On Linux a thread's nice value is its own, so this
// lowers only this thread; elsewhere it would lower the whole process, so it is left alone.
if (process.platform === 'linux') {
  try {
    setPriority(0, 10);
  } catch {
    // Not permitted here: encode at the normal priority.
  }
}

/**
 * @param copy a RoomStateCopy (libs/domain/src/snapshot-columns.ts): the room's windows as parallel columns.
 * @returns `{ body, checksum }`: the gzip of the document JSON, and the sha256 hex of the state JSON.
 */
export default function encodeSnapshot(copy) {
  const stateJson = JSON.stringify(serializedState(copy));
  const checksum = createHash('sha256').update(stateJson).digest('hex');
  const head = JSON.stringify({ format: copy.format, roomId: copy.roomId, seq: copy.headSeq, createdAt: copy.createdAt, checksum });
  // JSON.stringify(document) with `state` as its last key, without stringifying the state twice.
  const json = `${head.slice(0, -1)},"state":${stateJson}}`;
  return { body: gzipSync(Buffer.from(json, 'utf8'), { level: GZIP_LEVEL }), checksum };
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** Base64 of a typed array's bytes in little-endian order (base64Le in snapshot-columns.ts). */
function base64Le(column) {
  const bytes = Buffer.from(column.buffer, column.byteOffset, column.byteLength);
  if (LITTLE_ENDIAN || column.BYTES_PER_ELEMENT === 1) return bytes.toString('base64');
  const swapped = Buffer.from(bytes);
  if (column.BYTES_PER_ELEMENT === 8) swapped.swap64();
  else swapped.swap32();
  return swapped.toString('base64');
}

/** ColumnarRoomState (snapshot-columns.ts, format 5), in its key order, from the copy. */
function serializedState(copy) {
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
    visibility: m.visibility,
    ownerId: m.ownerId ?? null,
    members: m.members,
    invited: m.invited,
    banned: m.banned,
    reactions: nestedReactions(copy.reactions),
  };
}

/** `[[seq, [[emoji, [userId…]]…]]…]` (SerializedRoomState.reactions) from a ReactionColumns: nestReactions in snapshot-columns.ts. */
function nestedReactions(r) {
  const out = new Array(r.seqs.length);
  let e = 0;
  let u = 0;
  for (let m = 0; m < out.length; m++) {
    const byEmoji = new Array(r.emojiCounts[m]);
    for (let k = 0; k < byEmoji.length; k++, e++) {
      const users = new Array(r.userCounts[e]);
      for (let x = 0; x < users.length; x++) users[x] = r.strings[r.users[u++]];
      byEmoji[k] = [r.strings[r.emoji[e]], users];
    }
    out[m] = [r.seqs[m], byEmoji];
  }
  return out;
}
