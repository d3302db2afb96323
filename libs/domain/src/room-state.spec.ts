import {
  applyEvent,
  canModify,
  DedupWindow,
  DEDUP_WINDOW,
  emptyRoomState,
  judge,
  MESSAGE_WINDOW,
  MessageWindow,
  type RoomState,
} from './room-state';
import type { EventEnvelope } from './events';

const ROOM = 'room-1';
const ALICE = { id: 'u-alice', username: 'alice' };
const BOB = { id: 'u-bob', username: 'bob' };

function ts(seq: number): string {
  return new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString();
}

function created(name = 'general'): EventEnvelope {
  return { roomId: ROOM, seq: 1, type: 'room.created', ts: ts(1), actor: ALICE, data: { name } };
}

/** `clientMsgId` null: a post without one. */
function posted(seq: number, actor = ALICE, clientMsgId: string | null = `c-${seq}`): EventEnvelope {
  const event: EventEnvelope = { roomId: ROOM, seq, type: 'message.posted', ts: ts(seq), actor, data: { text: `m${seq}` } };
  if (clientMsgId !== null) event.clientMsgId = clientMsgId;
  return event;
}

function edited(seq: number, target: number, actor = ALICE): EventEnvelope {
  return { roomId: ROOM, seq, type: 'message.edited', ts: ts(seq), actor, data: { seq: target, text: 'edited' } };
}

function deleted(seq: number, target: number, actor = ALICE): EventEnvelope {
  return { roomId: ROOM, seq, type: 'message.deleted', ts: ts(seq), actor, data: { seq: target } };
}

function fold(events: EventEnvelope[], state: RoomState = emptyRoomState(ROOM)): RoomState {
  for (const e of events) applyEvent(state, e);
  return state;
}

/** A room.created followed by `count` posts at seqs 2..count+1. */
function history(count: number): EventEnvelope[] {
  const events = [created()];
  for (let seq = 2; seq <= count + 1; seq++) events.push(posted(seq, seq % 2 === 0 ? ALICE : BOB));
  return events;
}

function copyWindow(from: MessageWindow, to: MessageWindow): MessageWindow {
  from.forEach((seq, authorId, deleted) => to.add(seq, authorId, deleted));
  return to;
}

function copyDedup(from: DedupWindow, to: DedupWindow): DedupWindow {
  from.forEach((hi, lo, seq, tsMs, tsText) => to.setHashed(hi, lo, seq, tsText ?? new Date(tsMs).toISOString()));
  return to;
}

/** A deep copy, as a snapshot round trip would produce. */
function cloneState(state: RoomState): RoomState {
  return {
    roomId: state.roomId,
    name: state.name,
    headSeq: state.headSeq,
    visibility: state.visibility,
    ownerId: state.ownerId,
    members: new Map([...state.members].map(([k, v]) => [k, { ...v }])),
    invited: new Map(state.invited),
    banned: new Map(state.banned),
    messages: copyWindow(state.messages, new MessageWindow(state.messages.limit)),
    sent: copyDedup(state.sent, new DedupWindow(state.sent.limit)),
  };
}

describe(applyEvent.name, () => {
  it('folds events in seq order and advances the head', () => {
    const state = fold([created('lobby'), posted(2), posted(3, BOB)]);
    expect(state.headSeq).toBe(3);
    expect(state.name).toBe('lobby');
    expect([...state.messages.keys()]).toEqual([2, 3]);
    expect(state.messages.get(3)).toEqual({ authorId: BOB.id, deleted: false });
  });

  it('room.created sets the room name', () => {
    const state = applyEvent(emptyRoomState(ROOM), created('Team Room'));
    expect(state.name).toBe('Team Room');
    expect(state.headSeq).toBe(1);
  });

  it('updates the state in place and returns it', () => {
    const state = emptyRoomState(ROOM);
    expect(applyEvent(state, created())).toBe(state);
  });

  it('ignores an event at or below the head (replay overlapping a snapshot)', () => {
    const state = fold([created('first'), posted(2), deleted(3, 2)]);
    const before = cloneState(state);
    // A replayed room.created with another name and a replayed post must change nothing.
    applyEvent(state, { ...created('other'), seq: 1 });
    applyEvent(state, posted(2, BOB, 'other-id'));
    applyEvent(state, posted(3, BOB, 'x'));
    expect(state).toEqual(before);
    expect(state.messages.get(2)).toEqual({ authorId: ALICE.id, deleted: true });
  });

  it('throws on a gap, leaving the state unchanged', () => {
    const state = fold([created(), posted(2)]);
    const before = cloneState(state);
    expect(() => applyEvent(state, posted(4))).toThrow(/seq 4 does not follow head 2/);
    expect(state).toEqual(before);
  });

  it('throws when the first event is not seq 1', () => {
    expect(() => applyEvent(emptyRoomState(ROOM), posted(2))).toThrow();
  });

  it('marks a message deleted on message.deleted', () => {
    const state = fold([created(), posted(2), posted(3), deleted(4, 2)]);
    expect(state.messages.get(2)).toEqual({ authorId: ALICE.id, deleted: true });
    expect(state.messages.get(3)?.deleted).toBe(false);
    expect(state.messages.has(4)).toBe(false);
  });

  it('an edit advances the head but adds no message', () => {
    const state = fold([created(), posted(2), edited(3, 2)]);
    expect(state.headSeq).toBe(3);
    expect([...state.messages.keys()]).toEqual([2]);
    expect(state.messages.get(2)?.deleted).toBe(false);
  });

  it('records clientMsgId → {seq, ts} per actor in the dedup map', () => {
    const state = fold([created(), posted(2, ALICE, 'same'), posted(3, BOB, 'same'), posted(4, ALICE, null)]);
    expect(state.sent.get(ALICE.id, 'same')).toEqual({ seq: 2, ts: ts(2) });
    expect(state.sent.get(BOB.id, 'same')).toEqual({ seq: 3, ts: ts(3) });
    expect(state.sent.size).toBe(2);
  });

  it(`keeps at most MESSAGE_WINDOW (${MESSAGE_WINDOW}) messages, evicting the oldest`, () => {
    const state = fold(history(MESSAGE_WINDOW + 3));
    expect(state.messages.size).toBe(MESSAGE_WINDOW);
    // Posts are at seqs 2..MESSAGE_WINDOW+4; the three oldest (2, 3, 4) are gone.
    expect(state.messages.has(2)).toBe(false);
    expect(state.messages.has(4)).toBe(false);
    expect(state.messages.has(5)).toBe(true);
    expect(state.messages.has(MESSAGE_WINDOW + 4)).toBe(true);
    expect([...state.messages.keys()][0]).toBe(5);
  });

  it(`keeps at most DEDUP_WINDOW (${DEDUP_WINDOW}) client message ids, evicting the oldest`, () => {
    const state = fold(history(DEDUP_WINDOW + 2));
    expect(state.sent.size).toBe(DEDUP_WINDOW);
    expect(state.sent.has(ALICE.id, 'c-2')).toBe(false);
    expect(state.sent.has(BOB.id, 'c-3')).toBe(false);
    expect(state.sent.get(ALICE.id, 'c-4')).toEqual({ seq: 4, ts: ts(4) });
    const last = DEDUP_WINDOW + 3;
    expect(state.sent.get(last % 2 === 0 ? ALICE.id : BOB.id, `c-${last}`)).toEqual({ seq: last, ts: ts(last) });
  });

  it('folding from seq 1 and from a midpoint snapshot gives the same state', () => {
    const events: EventEnvelope[] = [created('fold')];
    for (let seq = 2; seq <= 40; seq++) {
      if (seq % 7 === 0) events.push(deleted(seq, seq - 3, BOB));
      else if (seq % 5 === 0) events.push(edited(seq, seq - 1));
      else events.push(posted(seq, seq % 3 === 0 ? BOB : ALICE));
    }
    const full = fold(events);

    const midpoint = cloneState(fold(events.slice(0, 20)));
    // Replay from a few events before the snapshot's head: the overlap is ignored.
    const resumed = fold(events.slice(15), midpoint);

    expect(resumed.headSeq).toBe(40);
    expect([resumed.roomId, resumed.name, resumed.headSeq]).toEqual([full.roomId, full.name, full.headSeq]);
    expect([...resumed.messages]).toEqual([...full.messages]);
    expect([...resumed.sent]).toEqual([...full.sent]);
  });
});

describe(canModify.name, () => {
  // seq 1 created, 2 alice post, 3 bob post, 4 edit of 2, 5 alice post, 6 delete of 5
  const state = fold([created(), posted(2, ALICE), posted(3, BOB), edited(4, 2), posted(5, ALICE), deleted(6, 5)]);

  it('lets the author edit and delete', () => {
    expect(canModify(state, 2, ALICE.id, 'edit', false)).toBe('ok');
    expect(canModify(state, 2, ALICE.id, 'delete', false)).toBe('ok');
  });

  it('forbids others to edit or delete', () => {
    expect(canModify(state, 2, BOB.id, 'edit', false)).toBe('forbidden');
    expect(canModify(state, 2, BOB.id, 'delete', false)).toBe('forbidden');
  });

  it('lets an admin delete but not edit', () => {
    expect(canModify(state, 3, ALICE.id, 'delete', true)).toBe('ok');
    expect(canModify(state, 3, ALICE.id, 'edit', true)).toBe('forbidden');
  });

  it('answers not_found for a deleted message, even to its author or an admin', () => {
    expect(canModify(state, 5, ALICE.id, 'edit', false)).toBe('not_found');
    expect(canModify(state, 5, ALICE.id, 'delete', true)).toBe('not_found');
  });

  it('answers not_found for a seq beyond the head', () => {
    expect(canModify(state, 7, ALICE.id, 'edit', false)).toBe('not_found');
    expect(canModify(state, 1_000, ALICE.id, 'delete', true)).toBe('not_found');
  });

  it('answers not_found for a non-message seq inside the window', () => {
    expect(canModify(state, 4, ALICE.id, 'edit', false)).toBe('not_found');
    expect(canModify(state, 6, ALICE.id, 'delete', true)).toBe('not_found');
  });

  it("answers 'unknown' for a seq older than the window", () => {
    const big = fold(history(MESSAGE_WINDOW + 10));
    // Posts at 2..11 were evicted; the caller must ask the log.
    expect(canModify(big, 2, ALICE.id, 'edit', false)).toBe('unknown');
    expect(canModify(big, 11, BOB.id, 'delete', false)).toBe('unknown');
    expect(canModify(big, 12, ALICE.id, 'edit', false)).toBe('ok');
    expect(canModify(big, 12, BOB.id, 'edit', false)).toBe('forbidden');
  });
});

describe(judge.name, () => {
  it('applies the author / admin / deleted rules to a message from the log', () => {
    expect(judge({ authorId: ALICE.id, deleted: false }, ALICE.id, 'edit', false)).toBe('ok');
    expect(judge({ authorId: ALICE.id, deleted: false }, BOB.id, 'edit', false)).toBe('forbidden');
    expect(judge({ authorId: ALICE.id, deleted: false }, BOB.id, 'edit', true)).toBe('forbidden');
    expect(judge({ authorId: ALICE.id, deleted: false }, BOB.id, 'delete', true)).toBe('ok');
    expect(judge({ authorId: ALICE.id, deleted: false }, BOB.id, 'delete', false)).toBe('forbidden');
    expect(judge({ authorId: ALICE.id, deleted: true }, ALICE.id, 'edit', false)).toBe('not_found');
    expect(judge({ authorId: ALICE.id, deleted: true }, BOB.id, 'delete', true)).toBe('not_found');
  });

  it('a message without an author can only be deleted by an admin', () => {
    expect(judge({ authorId: null, deleted: false }, ALICE.id, 'edit', false)).toBe('forbidden');
    expect(judge({ authorId: null, deleted: false }, ALICE.id, 'delete', true)).toBe('ok');
  });
});
