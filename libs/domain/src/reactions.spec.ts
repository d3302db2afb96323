import { DomainError } from './errors';
import type { EventEnvelope, EventType } from './events';
import { applyEvent, decideReaction, emptyRoomState, MESSAGE_WINDOW, messageStatus, type RoomState } from './room-state';
import { MAX_REACTIONS_PER_MESSAGE, MAX_REACTIONS_PER_USER } from './socket-events';
import { parseOrThrow, schemas } from './validation';

const ROOM = 'room-1';
const ALICE = { id: 'u-alice', username: 'alice' };
const BOB = { id: 'u-bob', username: 'bob' };

/** A room with `posts` messages (seqs 2..posts+1) and a helper appending further events. */
function room(posts: number): { state: RoomState; add: (type: EventType, data: unknown, actor?: typeof ALICE) => void } {
  const state = emptyRoomState(ROOM);
  const add = (type: EventType, data: unknown, actor = ALICE) => {
    const seq = state.headSeq + 1;
    applyEvent(state, { roomId: ROOM, seq, type, ts: new Date(seq * 1000).toISOString(), actor, data } as EventEnvelope);
  };
  add('room.created', { name: 'r' });
  for (let i = 0; i < posts; i++) add('message.posted', { text: `m${i}` });
  return { state, add };
}

describe('reactions in the fold', () => {
  it('records who reacted with what, and a removal takes it away', () => {
    const { state, add } = room(3);
    add('reaction.added', { seq: 2, emoji: '👍' }, BOB);
    add('reaction.added', { seq: 2, emoji: '👍' }, ALICE);
    add('reaction.added', { seq: 3, emoji: ':tada:' }, BOB);
    expect(state.messages.reactions(2)).toEqual(new Map([['👍', [BOB.id, ALICE.id]]]));
    add('reaction.removed', { seq: 2, emoji: '👍' }, BOB);
    expect(state.messages.reactions(2)).toEqual(new Map([['👍', [ALICE.id]]]));
    add('reaction.removed', { seq: 2, emoji: '👍' }, ALICE);
    expect(state.messages.reactions(2)).toBeUndefined();
    expect(state.messages.reactedMessages).toBe(1);
  });

  it('decides a duplicate add and the removal of an absent reaction as no-ops', () => {
    const { state, add } = room(1);
    expect(decideReaction(state, 2, '👍', BOB.id, true)).toBe('write');
    add('reaction.added', { seq: 2, emoji: '👍' }, BOB);
    expect(decideReaction(state, 2, '👍', BOB.id, true)).toBe('noop');
    expect(decideReaction(state, 2, '👍', ALICE.id, false)).toBe('noop');
    expect(decideReaction(state, 2, '👍', BOB.id, false)).toBe('write');
  });

  it('drops a message’s reactions when it is deleted, and with it when the window evicts it', () => {
    const { state, add } = room(2);
    add('reaction.added', { seq: 2, emoji: '👍' }, BOB);
    add('reaction.added', { seq: 3, emoji: '👍' }, BOB);
    add('message.deleted', { seq: 3 });
    expect(state.messages.reactions(3)).toBeUndefined();
    expect(messageStatus(state, 3)).toBe('not_found');
    for (let i = 0; i < MESSAGE_WINDOW; i++) add('message.posted', { text: 'x' });
    expect(state.messages.has(2)).toBe(false);
    expect(state.messages.reactedMessages).toBe(0);
    expect(messageStatus(state, 2)).toBe('unknown');
  });

  it('caps the emoji of one user on one message', () => {
    const { state, add } = room(1);
    for (let i = 0; i < MAX_REACTIONS_PER_USER; i++) add('reaction.added', { seq: 2, emoji: `:e${i}:` }, BOB);
    expect(() => decideReaction(state, 2, ':one-more:', BOB.id, true)).toThrow(DomainError);
    expect(decideReaction(state, 2, ':one-more:', ALICE.id, true)).toBe('write');
    // Removing is always allowed, and makes room again.
    expect(decideReaction(state, 2, ':e0:', BOB.id, false)).toBe('write');
  });

  it('caps the reactions on one message', () => {
    const { state, add } = room(1);
    for (let i = 0; i < MAX_REACTIONS_PER_MESSAGE; i++) add('reaction.added', { seq: 2, emoji: '👍' }, { id: `u-${i}`, username: `u${i}` });
    let error: unknown;
    try {
      decideReaction(state, 2, '👍', ALICE.id, true);
    } catch (err) {
      error = err;
    }
    expect((error as DomainError).code).toBe('forbidden');
  });

  it('says where a reply target stands', () => {
    const { state, add } = room(2);
    add('member.joined', { userId: BOB.id, username: 'bob', role: 'member' });
    expect(messageStatus(state, 2)).toBe('live');
    expect(messageStatus(state, 1)).toBe('unknown'); // below the window's oldest: the log answers
    expect(messageStatus(state, 4)).toBe('not_found'); // a member event, not a message
    expect(messageStatus(state, 99)).toBe('not_found');
  });
});

describe('edge schemas', () => {
  it('takes one emoji or a :shortcode:, and nothing else', () => {
    for (const emoji of ['👍', '👍🏽', '👨‍👩‍👧', '🇫🇷', ':tada:', ':+1:', '❤️']) {
      expect(parseOrThrow(schemas.reaction, { seq: 2, emoji })).toEqual({ seq: 2, emoji });
    }
    for (const emoji of ['', 'abc', 'hi 👍', '👍👍', '🇫🇷🇫🇷', ':not a code:', ':' + 'x'.repeat(40) + ':', '1', '\u0000']) {
      expect(() => parseOrThrow(schemas.reaction, { seq: 2, emoji })).toThrow(DomainError);
    }
    expect(() => parseOrThrow(schemas.reaction, { seq: 2, emoji: '👍', extra: 1 })).toThrow(DomainError);
  });

  it('takes replyTo as a seq on message:send, and typing as a boolean', () => {
    expect(parseOrThrow(schemas.send, { clientMsgId: 'c', text: 't', replyTo: 3 })).toEqual({ clientMsgId: 'c', text: 't', replyTo: 3 });
    expect(() => parseOrThrow(schemas.send, { clientMsgId: 'c', text: 't', replyTo: '3' })).toThrow(DomainError);
    expect(() => parseOrThrow(schemas.send, { clientMsgId: 'c', text: 't', replyTo: 0 })).toThrow(DomainError);
    expect(parseOrThrow(schemas.typing, { active: true })).toEqual({ active: true });
    expect(() => parseOrThrow(schemas.typing, { active: 'yes' })).toThrow(DomainError);
  });
});
