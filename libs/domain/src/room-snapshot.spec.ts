import { createHash } from 'node:crypto';
import type { EventEnvelope } from './events';
import { adoptLegacyOwner, CorruptSnapshotError, deserializeRoomState, serializeRoomState, SNAPSHOT_FORMAT, type SnapshotDocument } from './room-snapshot';
import type { ColumnarRoomState } from './snapshot-columns';
import { decodeSnapshotDocument, encodeSnapshotDocument } from './snapshot-document';
import { applyEvent, DEDUP_WINDOW, dedupHash, dedupHashHex, dedupHashOut, dedupKey, emptyRoomState, MESSAGE_WINDOW, type RoomState } from './room-state';

const ROOM = 'room-1';
const ALICE = { id: 'u-alice', username: 'alice' };
const BOB = { id: 'u-bob', username: 'bob' };

const ts = (seq: number) => new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString();

/**
 * A deterministic, varied history: posts by two users (some without clientMsgId, some by a null
 * actor), edits and deletes, enough of them to overflow both windows when `count` is large.
 */
function history(count: number): EventEnvelope[] {
  const events: EventEnvelope[] = [{ roomId: ROOM, seq: 1, type: 'room.created', ts: ts(1), actor: ALICE, data: { name: 'general' } }];
  for (let seq = 2; seq <= count; seq++) {
    const actor = seq % 3 === 0 ? BOB : ALICE;
    if (seq % 7 === 0) {
      events.push({ roomId: ROOM, seq, type: 'message.deleted', ts: ts(seq), actor, data: { seq: seq - 3 }, clientMsgId: `d-${seq}` });
    } else if (seq % 11 === 0) {
      events.push({ roomId: ROOM, seq, type: 'message.edited', ts: ts(seq), actor, data: { seq: seq - 1, text: 'e' } });
    } else if (seq % 13 === 0) {
      events.push({ roomId: ROOM, seq, type: 'message.posted', ts: ts(seq), actor: null, data: { text: `sys${seq}` } });
    } else {
      const event: EventEnvelope = { roomId: ROOM, seq, type: 'message.posted', ts: ts(seq), actor, data: { text: `m${seq}` } };
      if (seq % 5 !== 0) event.clientMsgId = `c-${seq}`;
      events.push(event);
    }
  }
  return events;
}

function fold(events: EventEnvelope[], state: RoomState = emptyRoomState(ROOM)): RoomState {
  for (const e of events) applyEvent(state, e);
  return state;
}

/** Equality including Map iteration order (toEqual alone ignores the order of Map entries). */
function expectSameState(actual: RoomState, expected: RoomState): void {
  // The windows' internal layout (ring capacity, ordinals) may differ: compare what they hold.
  expect({ ...actual, messages: undefined, sent: undefined }).toEqual({ ...expected, messages: undefined, sent: undefined });
  expect([...actual.messages]).toEqual([...expected.messages]);
  expect([...actual.sent]).toEqual([...expected.sent]);
  expect(serializeRoomState(actual).reactions).toEqual(serializeRoomState(expected).reactions);
}

/** The snapshot's (format 4) key of a send. */
function hexOf(actorId: string, clientMsgId: string): string {
  dedupHash(actorId, clientMsgId);
  return dedupHashHex(dedupHashOut.hi, dedupHashOut.lo);
}

/**
 * The dedup window of `events` as formats 1–3 stored it (`dedupKey` strings): the most recent
 * DEDUP_WINDOW sends, oldest first (every client message id in history() is distinct).
 */
function legacySent(events: EventEnvelope[]): Array<[string, number, string]> {
  return events
    .filter((e) => e.clientMsgId && e.actor)
    .slice(-DEDUP_WINDOW)
    .map((e) => [dedupKey(e.actor!.id, e.clientMsgId!), e.seq, e.ts]);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Re-encodes a modified document with a checksum that matches its (modified) state. */
function reseal<S>(doc: SnapshotDocument<S>): string {
  return JSON.stringify({ ...doc, checksum: sha256(JSON.stringify(doc.state)) });
}

/** A format-4 document of `state`: the windows as an array per entry, as formats 1–4 wrote them. */
function entriesDocument(state: RoomState): SnapshotDocument {
  const serialized = serializeRoomState(state);
  return { format: 4, roomId: state.roomId, seq: state.headSeq, createdAt: ts(1), checksum: sha256(JSON.stringify(serialized)), state: serialized };
}

describe('room snapshot serialization', () => {
  it('round-trips a small state through plain JSON', () => {
    const state = fold(history(40));
    const serialized = serializeRoomState(state);
    const restored = deserializeRoomState(JSON.parse(JSON.stringify(serialized)));
    expectSameState(restored, state);
    expect(serialized.messages[0]).toEqual([2, ALICE.id, false]);
    expect(serialized.sent[0]).toEqual([hexOf(ALICE.id, 'c-2'), 2, ts(2)]);
  });

  it('does not share windows with the original', () => {
    const state = fold(history(10));
    const restored = deserializeRoomState(serializeRoomState(state));
    restored.messages.markDeleted(2);
    restored.sent.set(ALICE.id, 'c-2', 99, ts(99));
    expect(state.messages.get(2)!.deleted).toBe(false);
    expect(state.sent.get(ALICE.id, 'c-2')).toEqual({ seq: 2, ts: ts(2) });
  });

  it('keeps the Map order of entries, not numeric order', () => {
    const state = emptyRoomState(ROOM);
    state.headSeq = 9;
    state.messages.add(9, 'a');
    state.messages.add(3, null, true);
    state.sent.set('z', '1', 9, ts(9));
    state.sent.set('a', '1', 3, ts(3));
    const restored = deserializeRoomState(serializeRoomState(state));
    expect([...restored.messages.keys()]).toEqual([9, 3]);
    expect([...restored.sent].map(([key]) => key)).toEqual([hexOf('z', '1'), hexOf('a', '1')]);
  });
});

describe(encodeSnapshotDocument.name, () => {
  it('writes the documented envelope with a sha256 of the serialized state', () => {
    const state = fold(history(30));
    const createdAt = new Date(Date.UTC(2026, 10, 23, 1, 2, 3, 4));
    const { json, checksum } = encodeSnapshotDocument(state, createdAt);
    const doc = JSON.parse(json) as SnapshotDocument;
    expect(Object.keys(doc)).toEqual(['format', 'roomId', 'seq', 'createdAt', 'checksum', 'state']);
    expect(doc).toMatchObject({ format: SNAPSHOT_FORMAT, roomId: ROOM, seq: 30, createdAt: createdAt.toISOString(), checksum });
    expect(checksum).toBe(sha256(JSON.stringify(doc.state)));
    expect(checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is a copy: later changes to the state do not reach the encoded document', () => {
    const events = history(20);
    const state = fold(events.slice(0, 10));
    const { json } = encodeSnapshotDocument(state);
    fold(events.slice(10), state);
    const decoded = decodeSnapshotDocument(json, { roomId: ROOM, seq: 10 });
    expectSameState(decoded, fold(events.slice(0, 10)));
  });
});

describe(decodeSnapshotDocument.name, () => {
  it('round-trips full windows exactly (Map order and window contents)', () => {
    const state = fold(history(DEDUP_WINDOW + MESSAGE_WINDOW + 777));
    expect(state.messages.size).toBe(MESSAGE_WINDOW);
    expect(state.sent.size).toBe(DEDUP_WINDOW);
    const { json } = encodeSnapshotDocument(state);
    expectSameState(decodeSnapshotDocument(json, { roomId: ROOM, seq: state.headSeq }), state);
  });

  it('folding the tail onto a decoded snapshot equals folding every event from scratch', () => {
    const events = history(MESSAGE_WINDOW + 2_500);
    for (const cut of [1, 2, 100, MESSAGE_WINDOW, MESSAGE_WINDOW + 1_234]) {
      const { json } = encodeSnapshotDocument(fold(events.slice(0, cut)));
      const resumed = decodeSnapshotDocument(json, { roomId: ROOM, seq: cut });
      // The replay overlaps the snapshot by a few events, as a real resume may.
      fold(events.slice(Math.max(0, cut - 5)), resumed);
      expectSameState(resumed, fold(events));
    }
  });

  describe('rejects a corrupt document with CorruptSnapshotError (format 4; format 5 below)', () => {
    const state = fold(history(50));
    const expected = { roomId: ROOM, seq: 50 };
    const json = JSON.stringify(entriesDocument(state));
    const doc = (): SnapshotDocument => JSON.parse(json) as SnapshotDocument;

    const cases: Array<[string, string, CorruptSnapshotError['reason']]> = [
      ['bad JSON', json.slice(0, -10), 'json'],
      ['empty input', '', 'json'],
      ['garbage bytes', '\u001f\u008b\u0008\u0000garbage', 'json'],
      ['JSON that is not an object', '[1,2,3]', 'json'],
      ['JSON null', 'null', 'json'],
      ['an unknown format version', JSON.stringify({ ...doc(), format: 99 }), 'format'],
      ['a missing format version', JSON.stringify({ ...doc(), format: undefined }), 'format'],
      ['another room', JSON.stringify({ ...doc(), roomId: 'room-2' }), 'mismatch'],
      ['another seq', JSON.stringify({ ...doc(), seq: 49 }), 'mismatch'],
      ['a seq as a string', JSON.stringify({ ...doc(), seq: '50' }), 'mismatch'],
      ['a tampered state', JSON.stringify({ ...doc(), state: { ...doc().state, name: 'evil' } }), 'checksum'],
      ['a flipped deleted flag', json.replace(`[2,"${ALICE.id}",false]`, `[2,"${ALICE.id}",true]`), 'checksum'],
      ['a tampered checksum', JSON.stringify({ ...doc(), checksum: '0'.repeat(64) }), 'checksum'],
      ['a missing state', JSON.stringify({ ...doc(), state: undefined }), 'checksum'],
      ['a state whose headSeq is not the seq', reseal({ ...doc(), state: { ...doc().state, headSeq: 49 } }), 'state'],
      ['a state for another room', reseal({ ...doc(), state: { ...doc().state, roomId: 'room-2' } }), 'state'],
      ['a malformed message entry', reseal({ ...doc(), state: { ...doc().state, messages: [[2, 'a']] as never } }), 'state'],
      ['a malformed sent entry', reseal({ ...doc(), state: { ...doc().state, sent: [['k', 'x', 'y']] as never } }), 'state'],
      ['a message newer than the head', reseal({ ...doc(), state: { ...doc().state, messages: [[51, 'a', false]] } }), 'state'],
    ];

    it.each(cases)('%s', (_name, input, reason) => {
      let error: unknown;
      try {
        decodeSnapshotDocument(input, expected);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(CorruptSnapshotError);
      expect((error as CorruptSnapshotError).reason).toBe(reason);
      expect((error as Error).message).toContain(`${ROOM}@50`);
    });

    it('accepts the intact document it was derived from', () => {
      expectSameState(decodeSnapshotDocument(json, expected), state);
    });

    it('rejects a document decoded against the wrong expectation', () => {
      expect(() => decodeSnapshotDocument(json, { roomId: ROOM, seq: 51 })).toThrow(CorruptSnapshotError);
      expect(() => decodeSnapshotDocument(json, { roomId: 'room-2', seq: 50 })).toThrow(CorruptSnapshotError);
    });
  });
});

describe('snapshot format 2 (membership)', () => {
  function memberRoom(): RoomState {
    const state = fold(history(20));
    const at = (seq: number) => ({ roomId: ROOM, seq, ts: ts(seq), actor: ALICE });
    applyEvent(state, { ...at(21), type: 'member.joined', data: { userId: BOB.id, username: BOB.username, role: 'member' } });
    applyEvent(state, { ...at(22), type: 'member.role_changed', data: { userId: BOB.id, role: 'moderator' } });
    applyEvent(state, { ...at(23), type: 'member.invited', data: { userId: 'u-carol', username: 'carol' } });
    applyEvent(state, { ...at(24), type: 'member.banned', data: { userId: 'u-dave', reason: 'spam' } });
    applyEvent(state, { ...at(25), type: 'member.muted', data: { userId: BOB.id, until: ts(100) } });
    return state;
  }

  it('round-trips members, roles, mutes, invitations and bans', () => {
    const state = memberRoom();
    const { json } = encodeSnapshotDocument(state);
    expect(JSON.parse(json).format).toBe(SNAPSHOT_FORMAT);
    const loaded = decodeSnapshotDocument(json, { roomId: ROOM, seq: 25 });
    expectSameState(loaded, state);
    expect([...loaded.members]).toEqual([...state.members]);
    expect(loaded.members.get(BOB.id)).toEqual({ username: 'bob', role: 'moderator', mutedUntil: ts(100) });
    expect(loaded.banned.get('u-dave')).toBeNull();
  });

  it('still loads a format-1 document, as a public room whose owner the loader adopts', () => {
    const state = fold(history(30));
    const legacy = { ...serializeRoomState(state), sent: legacySent(history(30)) } as unknown as Record<string, unknown>;
    for (const key of ['visibility', 'ownerId', 'members', 'invited', 'banned']) delete legacy[key];
    const document = { format: 1, roomId: ROOM, seq: 30, createdAt: ts(31), checksum: sha256(JSON.stringify(legacy)), state: legacy };
    const loaded = decodeSnapshotDocument(JSON.stringify(document), { roomId: ROOM, seq: 30 });
    expect(loaded.visibility).toBe('public');
    expect(loaded.ownerId).toBeNull();
    expect(loaded.members.size).toBe(0);
    adoptLegacyOwner(loaded, ALICE);
    // The same state as folding the log from seq 1.
    expectSameState(loaded, state);
    expect(loaded.members.get(ALICE.id)?.role).toBe('owner');
  });

  it('rejects a format-2 document with a malformed member entry', () => {
    const state = memberRoom();
    const serialized = { ...serializeRoomState(state), sent: legacySent(history(20)) };
    const intact = { format: 2, roomId: ROOM, seq: 25, createdAt: ts(26), checksum: sha256(JSON.stringify(serialized)), state: serialized };
    // The same document without the bad entry loads: what fails below is the member entry alone.
    expect(decodeSnapshotDocument(JSON.stringify(intact), { roomId: ROOM, seq: 25 }).members.size).toBe(state.members.size);
    (serialized.members as unknown[]).push(['u-x', 'x', 'king', null]);
    const document = { format: 2, roomId: ROOM, seq: 25, createdAt: ts(26), checksum: sha256(JSON.stringify(serialized)), state: serialized };
    expect(() => decodeSnapshotDocument(JSON.stringify(document), { roomId: ROOM, seq: 25 })).toThrow(CorruptSnapshotError);
  });
});

describe('snapshot format 3 (reactions)', () => {
  /** history(40) (its window holds seqs 2..40, some deleted), then reactions on a few messages. */
  function reactedRoom(): RoomState {
    const state = fold(history(40));
    let seq = 40;
    const react = (type: 'reaction.added' | 'reaction.removed', target: number, emoji: string, actor = BOB) =>
      applyEvent(state, { roomId: ROOM, seq: ++seq, ts: ts(seq), actor, type, data: { seq: target, emoji } });
    react('reaction.added', 38, '👍');
    react('reaction.added', 38, '👍', ALICE);
    react('reaction.added', 38, ':tada:');
    react('reaction.added', 2, '😀');
    react('reaction.removed', 38, '👍');
    react('reaction.added', 39, '🔥');
    return state;
  }

  it('round-trips the reactions, in order, and writes format 3', () => {
    const state = reactedRoom();
    expect(serializeRoomState(state).reactions).toEqual([
      [38, [['👍', [ALICE.id]], [':tada:', [BOB.id]]]],
      [2, [['😀', [BOB.id]]]],
      [39, [['🔥', [BOB.id]]]],
    ]);
    const { json } = encodeSnapshotDocument(state);
    expect(JSON.parse(json).format).toBe(SNAPSHOT_FORMAT);
    const loaded = decodeSnapshotDocument(json, { roomId: ROOM, seq: state.headSeq });
    expectSameState(loaded, state);
    expect(loaded.messages.hasReaction(38, ':tada:', BOB.id)).toBe(true);
    expect(loaded.messages.hasReaction(38, '👍', BOB.id)).toBe(false);
  });

  it('a snapshot plus the rest of the log folds to the same reactions as the whole log', () => {
    const whole = reactedRoom();
    const events: EventEnvelope[] = [];
    let seq = whole.headSeq;
    events.push({ roomId: ROOM, seq: ++seq, ts: ts(seq), actor: ALICE, type: 'reaction.added', data: { seq: 38, emoji: '🔥' } });
    events.push({ roomId: ROOM, seq: ++seq, ts: ts(seq), actor: ALICE, type: 'message.deleted', data: { seq: 39 } });
    const cut = decodeSnapshotDocument(encodeSnapshotDocument(whole).json, { roomId: ROOM, seq: whole.headSeq });
    fold(events, whole);
    fold(events, cut);
    expectSameState(cut, whole);
    // A deleted message loses its reactions.
    expect(whole.messages.reactions(39)).toBeUndefined();
  });

  it('still loads a format-2 document (no reactions in it)', () => {
    const state = fold(history(30));
    const legacy = { ...serializeRoomState(state), sent: legacySent(history(30)) } as unknown as Record<string, unknown>;
    delete legacy.reactions;
    const document = { format: 2, roomId: ROOM, seq: 30, createdAt: ts(31), checksum: sha256(JSON.stringify(legacy)), state: legacy };
    const loaded = decodeSnapshotDocument(JSON.stringify(document), { roomId: ROOM, seq: 30 });
    expectSameState(loaded, state);
    expect(loaded.messages.reactedMessages).toBe(0);
  });

  it('rejects a format-3 document with a malformed reactions entry', () => {
    const state = reactedRoom();
    const serialized = { ...serializeRoomState(state), sent: legacySent(history(40)) };
    const intact = { format: 3, roomId: ROOM, seq: state.headSeq, createdAt: ts(1), checksum: sha256(JSON.stringify(serialized)), state: serialized };
    expectSameState(decodeSnapshotDocument(JSON.stringify(intact), { roomId: ROOM, seq: state.headSeq }), state);
    (serialized.reactions as unknown[]).push([5, [['👍', 'not-a-list']]]);
    const document = { format: 3, roomId: ROOM, seq: state.headSeq, createdAt: ts(1), checksum: sha256(JSON.stringify(serialized)), state: serialized };
    expect(() => decodeSnapshotDocument(JSON.stringify(document), { roomId: ROOM, seq: state.headSeq })).toThrow(CorruptSnapshotError);
  });
});

describe('snapshot format 4 (dedup fingerprints)', () => {
  it('stored each send of the dedup window as its 16-hex-digit fingerprint, and such a document loads', () => {
    const state = fold(history(60));
    const doc = entriesDocument(state);
    expect(doc.state.sent.length).toBe(state.sent.size);
    for (const [key] of doc.state.sent) expect(key).toMatch(/^[0-9a-f]{16}$/);
    expect(doc.state.sent.at(-1)).toEqual([hexOf(ALICE.id, 'c-59'), 59, ts(59)]);
    expectSameState(decodeSnapshotDocument(JSON.stringify(doc), { roomId: ROOM, seq: 60 }), state);
  });

  it('loads a format-3 document with dedupKey strings into the same window as folding the log', () => {
    const events = history(DEDUP_WINDOW + 300);
    const state = fold(events);
    const serialized = { ...serializeRoomState(state), sent: legacySent(events) };
    expect(serialized.sent[0]![0]).toContain('\n');
    const document = { format: 3, roomId: ROOM, seq: state.headSeq, createdAt: ts(1), checksum: sha256(JSON.stringify(serialized)), state: serialized };
    const loaded = decodeSnapshotDocument(JSON.stringify(document), { roomId: ROOM, seq: state.headSeq });
    expectSameState(loaded, state);
    const last = events.filter((e) => e.clientMsgId && e.actor).at(-1)!;
    expect(loaded.sent.get(last.actor!.id, last.clientMsgId!)).toEqual({ seq: last.seq, ts: last.ts });
  });

  it.each([
    ['a format-4 key that is not a fingerprint', 4, (sent: unknown[][]) => (sent[0]![0] = `${ALICE.id}\nc-2`)],
    ['a format-4 key in upper case', 4, (sent: unknown[][]) => (sent[0]![0] = (sent[0]![0] as string).toUpperCase().replace(/^[0-9]/, 'A'))],
    ['a format-3 key without the newline of dedupKey', 3, (sent: unknown[][]) => (sent[0]![0] = 'no-newline')],
  ])('rejects %s', (_label, format, spoil) => {
    const state = fold(history(40));
    const serialized = { ...serializeRoomState(state), ...(format === 3 ? { sent: legacySent(history(40)) } : {}) };
    spoil(serialized.sent as unknown[][]);
    const document = { format, roomId: ROOM, seq: 40, createdAt: ts(1), checksum: sha256(JSON.stringify(serialized)), state: serialized };
    let thrown: unknown;
    try {
      decodeSnapshotDocument(JSON.stringify(document), { roomId: ROOM, seq: 40 });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(CorruptSnapshotError);
    expect((thrown as CorruptSnapshotError).reason).toBe('state');
  });
});

describe('snapshot format 5 (columns)', () => {
  type Doc = SnapshotDocument<ColumnarRoomState>;
  const column = (text: string) => Buffer.from(text, 'base64');
  const base64 = (bytes: Buffer) => bytes.toString('base64');

  it('writes each window as base64 columns: no array per entry, no client id in clear', () => {
    const state = fold(history(60));
    const { json } = encodeSnapshotDocument(state);
    const doc = JSON.parse(json) as Doc;
    expect(doc.format).toBe(5);
    expect(Object.keys(doc.state.messages)).toEqual(['seqs', 'authors', 'authorIds', 'deleted']);
    expect(Object.keys(doc.state.sent)).toEqual(['hashHi', 'hashLo', 'seqs', 'tsMs', 'tsTexts']);
    // Little-endian whatever the platform: 8 bytes a seq, 4 an author index, 1 a flag.
    const seqs = column(doc.state.messages.seqs);
    expect(seqs.length).toBe(8 * state.messages.size);
    expect(seqs.readDoubleLE(0)).toBe(2);
    expect(doc.state.messages.authorIds[column(doc.state.messages.authors).readInt32LE(0)]).toBe(ALICE.id);
    const sentSeqs = column(doc.state.sent.seqs);
    expect(sentSeqs.readDoubleLE(sentSeqs.length - 8)).toBe(59);
    expect(column(doc.state.sent.tsMs).readDoubleLE(sentSeqs.length - 8)).toBe(Date.parse(ts(59)));
    dedupHash(ALICE.id, 'c-59');
    expect(column(doc.state.sent.hashHi).readUInt32LE(sentSeqs.length / 2 - 4)).toBe(dedupHashOut.hi);
    expect(column(doc.state.sent.hashLo).readUInt32LE(sentSeqs.length / 2 - 4)).toBe(dedupHashOut.lo);
    expect(json).not.toContain('c-59');
  });

  it('is under 0.7x the JSON of format 4 for full windows (0.63x here, with short user ids)', () => {
    const state = fold(history(DEDUP_WINDOW + MESSAGE_WINDOW));
    expect(encodeSnapshotDocument(state).json.length).toBeLessThan(JSON.stringify(entriesDocument(state)).length * 0.7);
  });

  it('keeps window order that is not numeric order, and a ts kept as text', () => {
    const state = emptyRoomState(ROOM);
    state.headSeq = 9;
    state.messages.add(9, 'a');
    state.messages.add(3, null, true);
    state.sent.set('z', '1', 9, ts(9));
    state.sent.set('a', '1', 3, '2025-12-31T23:59:59.123456Z');
    state.sent.set('m', '1', 4, ts(4));
    const loaded = decodeSnapshotDocument(encodeSnapshotDocument(state).json, { roomId: ROOM, seq: 9 });
    expect([...loaded.messages.keys()]).toEqual([9, 3]);
    expect(loaded.messages.get(3)).toEqual(state.messages.get(3));
    expect([...loaded.sent]).toEqual([...state.sent]);
    expect(loaded.sent.get('a', '1')).toEqual({ seq: 3, ts: '2025-12-31T23:59:59.123456Z' });
  });

  it('loads the same state from format 4 and format 5 documents of a room', () => {
    const state = fold(history(DEDUP_WINDOW + 300));
    const fromEntries = decodeSnapshotDocument(JSON.stringify(entriesDocument(state)), { roomId: ROOM, seq: state.headSeq });
    const fromColumns = decodeSnapshotDocument(encodeSnapshotDocument(state).json, { roomId: ROOM, seq: state.headSeq });
    expectSameState(fromColumns, fromEntries);
    expectSameState(fromColumns, state);
  });

  describe('rejects a resealed document whose columns are wrong', () => {
    const state = fold(history(50));
    state.sent.set(ALICE.id, 'imported', 50, '2025-12-31T23:59:59.123456Z');
    const { json } = encodeSnapshotDocument(state);
    const doc = (): Doc => JSON.parse(json) as Doc;
    /** The document with one window's columns changed by `spoil`. */
    const spoiled = (spoil: (state: ColumnarRoomState) => void): string => {
      const d = doc();
      spoil(d.state);
      return reseal(d);
    };
    const f64 = (values: number[]) => {
      const bytes = Buffer.alloc(8 * values.length);
      values.forEach((v, i) => bytes.writeDoubleLE(v, 8 * i));
      return base64(bytes);
    };
    const setAt = (text: string, index: number, write: (bytes: Buffer) => void) => {
      const bytes = column(text);
      write(bytes.subarray(index));
      return base64(bytes);
    };
    const n = state.messages.size;

    it.each<[string, (s: ColumnarRoomState) => void]>([
      ['messages in the entries form of format 4', (s) => ((s as unknown as { messages: unknown }).messages = [[2, ALICE.id, false]])],
      ['a column that is not base64', (s) => (s.messages.seqs = '!!!!')],
      ['a column of part of an element', (s) => (s.messages.seqs = base64(column(s.messages.seqs).subarray(1)))],
      ['message columns of unequal lengths', (s) => (s.messages.deleted = base64(column(s.messages.deleted).subarray(1)))],
      ['a message seq above the head', (s) => (s.messages.seqs = setAt(s.messages.seqs, 0, (b) => b.writeDoubleLE(51)))],
      ['a message seq that is not an integer', (s) => (s.messages.seqs = setAt(s.messages.seqs, 8 * (n - 1), (b) => b.writeDoubleLE(2.5)))],
      ['an author index outside the table', (s) => (s.messages.authors = setAt(s.messages.authors, 0, (b) => b.writeInt32LE(s.messages.authorIds.length)))],
      ['an author index below -1', (s) => (s.messages.authors = setAt(s.messages.authors, 0, (b) => b.writeInt32LE(-2)))],
      ['an author id that is not a string', (s) => ((s.messages.authorIds as unknown[])[0] = 7)],
      ['a deleted flag of 2', (s) => (s.messages.deleted = setAt(s.messages.deleted, 0, (b) => (b[0] = 2)))],
      ['sent columns of unequal lengths', (s) => (s.sent.tsMs = f64([Date.parse(ts(2))]))],
      ['a send seq above the head', (s) => (s.sent.seqs = setAt(s.sent.seqs, 0, (b) => b.writeDoubleLE(51)))],
      ['a NaN ts without a ts text', (s) => (s.sent.tsMs = setAt(s.sent.tsMs, 0, (b) => b.writeDoubleLE(Number.NaN)))],
      ['a ts no ISO-8601 text of years 0000-9999 carries', (s) => (s.sent.tsMs = setAt(s.sent.tsMs, 0, (b) => b.writeDoubleLE(8.64e15)))],
      ['a ts of fractional ms', (s) => (s.sent.tsMs = setAt(s.sent.tsMs, 0, (b) => b.writeDoubleLE(Date.parse(ts(2)) + 0.5)))],
      ['a ts text beside a ts number', (s) => (s.sent.tsTexts = [...s.sent.tsTexts, [0, ts(2)]])],
      ['a ts text for no send', (s) => (s.sent.tsTexts = [[s.sent.tsTexts[0]![0], s.sent.tsTexts[0]![1]], [1e6, ts(2)]])],
      ['a ts text given twice', (s) => (s.sent.tsTexts = [s.sent.tsTexts[0]!, s.sent.tsTexts[0]!])],
      ['tsTexts that is not an array', (s) => ((s.sent as unknown as { tsTexts: unknown }).tsTexts = {})],
    ])('%s', (_label, spoil) => {
      let thrown: unknown;
      try {
        decodeSnapshotDocument(spoiled(spoil), { roomId: ROOM, seq: 50 });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(CorruptSnapshotError);
      expect((thrown as CorruptSnapshotError).reason).toBe('state');
    });

    it('accepts the document resealed unchanged (what fails above is the change alone)', () => {
      expectSameState(decodeSnapshotDocument(spoiled(() => undefined), { roomId: ROOM, seq: 50 }), state);
    });

    it('still checks the checksum first: a flipped column byte without resealing', () => {
      const d = doc();
      d.state.messages.deleted = setAt(d.state.messages.deleted, 0, (b) => (b[0] = b[0]! ^ 1));
      expect(() => decodeSnapshotDocument(JSON.stringify(d), { roomId: ROOM, seq: 50 })).toThrow(expect.objectContaining({ reason: 'checksum' }));
    });
  });
});
