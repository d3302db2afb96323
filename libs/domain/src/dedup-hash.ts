/**
 * The 64-bit fingerprint under which a room's dedup window remembers a send: (actor id, client
 * message id) hashed into two 32-bit lanes, without building a string.
 *
 * Why a fingerprint and not the key itself: a gateway holding 500 full rooms kept 5 million key
 * strings (10,000 a room), and each major GC had to mark every one of them. That one ~300 ms
 * mark-compact per snapshot wave was the tail of issue 7's acceptance 5. Two Uint32 lanes in a
 * typed array cost the marker nothing.
 *
 * A fingerprint can collide, so a match is only a candidate: the room actor confirms it against
 * the committed event (its recent ring, or the log) before it answers a send as a duplicate.
 * Distinct keys therefore never merge; the hash only has to be well spread and cheap. It is
 * cyrb53's two multiply-xorshift lanes (public domain, by bryc) kept at their full 64 bits.
 *
 * Pure: no I/O.
 */

/** The lanes of the last `dedupHash` call (module scratch, so hashing allocates nothing). */
export const dedupHashOut = { hi: 0, lo: 0 };

/**
 * Hashes (actorId, clientMsgId) into `dedupHashOut`. The actor id's length is mixed in between
 * the two as a value no UTF-16 code unit can take, so ("ab", "c") and ("a", "bc") differ.
 */
export function dedupHash(actorId: string, clientMsgId: string): void {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < actorId.length; i++) {
    const unit = actorId.charCodeAt(i);
    h1 = Math.imul(h1 ^ unit, 2654435761);
    h2 = Math.imul(h2 ^ unit, 1597334677);
  }
  const separator = 0x10000 + actorId.length;
  h1 = Math.imul(h1 ^ separator, 2654435761);
  h2 = Math.imul(h2 ^ separator, 1597334677);
  for (let i = 0; i < clientMsgId.length; i++) {
    const unit = clientMsgId.charCodeAt(i);
    h1 = Math.imul(h1 ^ unit, 2654435761);
    h2 = Math.imul(h2 ^ unit, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  dedupHashOut.hi = h2 >>> 0;
  dedupHashOut.lo = h1 >>> 0;
}

/** The fingerprint as 16 lowercase hex digits (the snapshot's form of it, format 4 on). */
export function dedupHashHex(hi: number, lo: number): string {
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

export const DEDUP_HASH_HEX = /^[0-9a-f]{16}$/;

/** Reads `dedupHashHex`'s form into `dedupHashOut`; false (and nothing read) if `hex` is not one. */
export function parseDedupHashHex(hex: string): boolean {
  if (!DEDUP_HASH_HEX.test(hex)) return false;
  dedupHashOut.hi = Number.parseInt(hex.slice(0, 8), 16);
  dedupHashOut.lo = Number.parseInt(hex.slice(8), 16);
  return true;
}
