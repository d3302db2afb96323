import { createHash } from 'node:crypto';
import type { EventEnvelope } from './events';
import {
  adoptLegacyOwner,
  CorruptSnapshotError,
  decodeSnapshotDocument,
  deserializeRoomState,
  encodeSnapshotDocument,
  serializeRoomState,
  SNAPSHOT_FORMAT,
  type SnapshotDocument,
} from './room-snapshot';
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
function reseal(doc: SnapshotDocument): string {
  return JSON.stringify({ ...doc, checksum: sha256(JSON.stringify(doc.state)) });
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
    expect(checksum).toBe(sha256(JSON.stringify(serializeRoomState(state))));
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

  describe('rejects a corrupt document with CorruptSnapshotError', () => {
    const state = fold(history(50));
    const expected = { roomId: ROOM, seq: 50 };
    const { json } = encodeSnapshotDocument(state);
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
  it('stores each send of the dedup window as its 16-hex-digit fingerprint, no actor or client id in clear', () => {
    const state = fold(history(60));
    const { json } = encodeSnapshotDocument(state);
    const doc = JSON.parse(json) as SnapshotDocument;
    expect(doc.format).toBe(4);
    expect(doc.state.sent.length).toBe(state.sent.size);
    for (const [key] of doc.state.sent) expect(key).toMatch(/^[0-9a-f]{16}$/);
    expect(doc.state.sent.at(-1)).toEqual([hexOf(ALICE.id, 'c-59'), 59, ts(59)]);
    expect(json).not.toContain('c-59');
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
