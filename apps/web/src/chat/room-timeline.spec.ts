import type { EventEnvelope } from '../../../../libs/client/src/index';
import { RoomTimeline, describeSystemRow, excerpt, type MessageRow, type SystemRow } from './room-timeline';

const alice = { id: 'a', username: 'alice' };
const bob = { id: 'b', username: 'bob' };
const ev = (seq: number, type: string, data: object, actor: { id: string; username: string } | null = alice): EventEnvelope =>
  ({ roomId: 'r', seq, type, ts: `2026-01-01T00:00:${String(seq).padStart(2, '0')}.000Z`, actor, data }) as EventEnvelope;

describe(RoomTimeline.name, () => {
  it('folds posts, edits, deletes and reactions into rows and ignores an event seen twice', () => {
    const t = new RoomTimeline();
    expect(t.apply(ev(1, 'room.created', { name: 'R', visibility: 'public' }))).toEqual([1]);
    expect(t.apply(ev(2, 'message.posted', { text: 'hello' }))).toEqual([2]);
    expect(t.apply(ev(2, 'message.posted', { text: 'hello' }))).toEqual([]);
    expect(t.apply(ev(3, 'message.edited', { seq: 2, text: 'hello!' }))).toEqual([2]);
    t.apply(ev(4, 'reaction.added', { seq: 2, emoji: '👍' }, bob));
    t.apply(ev(5, 'reaction.added', { seq: 2, emoji: '👍' }, alice));
    t.apply(ev(6, 'message.posted', { text: 'reply', replyTo: 2 }, bob));
    let row = t.row(2) as MessageRow;
    expect(row).toMatchObject({ text: 'hello!', edited: true, deleted: false, author: alice });
    expect([...row.reactions]).toEqual([['👍', ['b', 'a']]]);
    expect((t.row(6) as MessageRow).replyTo).toBe(2);
    expect(t.repliesTo(2)).toEqual([6]);
    t.apply(ev(7, 'reaction.removed', { seq: 2, emoji: '👍' }, bob));
    expect([...(t.row(2) as MessageRow).reactions]).toEqual([['👍', ['a']]]);
    t.apply(ev(8, 'message.deleted', { seq: 2 }));
    row = t.row(2) as MessageRow;
    expect(row).toMatchObject({ text: null, deleted: true, edited: false });
    expect(row.reactions.size).toBe(0);
    expect(t.seqs).toEqual([1, 2, 6]);
    expect(t.complete).toBe(true);
  });

  it('gives the same rows when older pages arrive after newer events (paging back)', () => {
    const events = [
      ev(1, 'room.created', {}),
      ev(2, 'message.posted', { text: 'one' }),
      ev(3, 'reaction.added', { seq: 2, emoji: '🎉' }, bob),
      ev(4, 'message.edited', { seq: 2, text: 'two' }),
      ev(5, 'reaction.removed', { seq: 2, emoji: '🎉' }, bob),
      ev(6, 'message.edited', { seq: 2, text: 'three' }),
      ev(7, 'message.posted', { text: 'later' }),
    ];
    const inOrder = new RoomTimeline();
    for (const e of events) inOrder.apply(e);
    const paged = new RoomTimeline();
    for (const e of events.slice(4)) paged.apply(e); // the latest page first
    expect(paged.complete).toBe(false);
    expect(paged.oldestApplied).toBe(5);
    expect(paged.row(2)).toBeUndefined(); // not loaded yet
    for (const e of events.slice(0, 4)) paged.apply(e);
    expect(paged.row(2)).toEqual(inOrder.row(2));
    expect((paged.row(2) as MessageRow).text).toBe('three');
    expect((paged.row(2) as MessageRow).reactions.size).toBe(0);
    expect(paged.seqs).toEqual([1, 2, 7]);
  });

  it('trims the oldest rows to a bound, and paging them back gives the rows it had, with the changes made above the cut', () => {
    const events = [
      ev(1, 'room.created', {}),
      ev(2, 'message.posted', { text: 'old one' }),
      ev(3, 'message.posted', { text: 'old two' }),
      ev(4, 'reaction.added', { seq: 3, emoji: '🎉' }, bob),
      ev(5, 'message.edited', { seq: 2, text: 'old one, edited' }),
      ev(6, 'message.posted', { text: 'kept' }),
      ev(7, 'message.posted', { text: 'kept too' }),
      ev(8, 'message.edited', { seq: 3, text: 'old two, edited late' }),
      ev(9, 'message.deleted', { seq: 2 }),
      ev(10, 'reaction.removed', { seq: 3, emoji: '🎉' }, bob),
      ev(11, 'reaction.added', { seq: 3, emoji: '👍' }, alice),
    ];
    const full = new RoomTimeline();
    for (const e of events) full.apply(e);

    const t = new RoomTimeline();
    for (const e of events) t.apply(e);
    expect(t.trimTo(10)).toEqual([]);
    expect(t.trimTo(2)).toEqual([1, 2, 3]);
    expect(t.seqs).toEqual([6, 7]);
    expect(t.row(2)).toBeUndefined();
    expect(t.complete).toBe(false);
    expect(t.oldestApplied).toBe(6);
    // Paging back (events before 6) restores exactly what the untrimmed timeline shows.
    for (const e of events.filter((x) => x.seq < 6).reverse()) t.apply(e);
    for (const seq of [1, 2, 3, 6, 7]) expect([seq, t.row(seq)]).toEqual([seq, full.row(seq)]);
    expect((t.row(3) as MessageRow).text).toBe('old two, edited late');
    expect([...(t.row(3) as MessageRow).reactions]).toEqual([['👍', ['a']]]);
    expect((t.row(2) as MessageRow).deleted).toBe(true);
    expect(t.complete).toBe(true);
  });

  it('describes membership events in plain English', () => {
    const t = new RoomTimeline();
    t.apply(ev(1, 'room.created', {}));
    t.apply(ev(2, 'member.invited', { userId: 'b', username: 'bob' }));
    t.apply(ev(3, 'member.role_changed', { userId: 'b', role: 'moderator' }));
    t.apply(ev(4, 'member.muted', { userId: 'b', until: '2026-01-01T00:10:00.000Z' }));
    t.apply(ev(5, 'member.muted', { userId: 'b', until: '2026-01-01T00:00:00.000Z' }));
    t.apply(ev(6, 'member.banned', { userId: 'b', reason: 'spam' }));
    const names = (id: string) => (id === 'b' ? 'bob' : id);
    expect(t.seqs.map((s) => describeSystemRow(t.row(s) as SystemRow, names))).toEqual([
      'alice created the room',
      'alice invited bob',
      'alice made bob a moderator',
      'alice muted bob',
      'alice unmuted bob',
      'alice banned bob',
    ]);
  });

  it('cuts long quotes to one short line', () => {
    expect(excerpt('a\n b')).toBe('a b');
    expect(excerpt('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});
