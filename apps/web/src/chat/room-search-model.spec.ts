import type { RoomSearchHit } from '../api';
import { checkRoomSearchQuery, RoomSearchResults, roomSearchPath } from './room-search-model';

const hit = (seq: number): RoomSearchHit => ({ seq, ts: '2026-01-01T00:00:00.000Z', actor: { id: 'u1', username: 'ann' }, text: `text ${seq}`, replyTo: null });

describe('checkRoomSearchQuery', () => {
  it('trims and accepts 1–200 characters', () => {
    expect(checkRoomSearchQuery('  zebra  ')).toEqual({ q: 'zebra' });
    expect(checkRoomSearchQuery('x'.repeat(200))).toEqual({ q: 'x'.repeat(200) });
  });
  it('refuses an empty or too long query with a plain message', () => {
    expect(checkRoomSearchQuery('   ')).toEqual({ code: 'invalid', message: 'type a word to search for' });
    expect(checkRoomSearchQuery('x'.repeat(201))).toEqual({ code: 'invalid', message: 'a search has at most 200 characters (this one has 201)' });
    expect(checkRoomSearchQuery('a\u0000b')).toMatchObject({ code: 'invalid' });
  });
});

describe('roomSearchPath', () => {
  it('encodes the room id and the query, with before only when paging', () => {
    expect(roomSearchPath('r/1', 'a&b c', undefined, 10)).toBe('/rooms/r%2F1/search?q=a%26b+c&limit=10');
    expect(roomSearchPath('r1', 'zebra', 42, 10)).toBe('/rooms/r1/search?q=zebra&limit=10&before=42');
  });
});

describe('RoomSearchResults', () => {
  it('pages with the oldest hit as before, until a page is shorter than the limit', () => {
    const results = new RoomSearchResults(3);
    results.start('zebra');
    expect(results.nextBefore).toBeUndefined();
    expect(results.addPage([hit(90), hit(70), hit(50)]).map((h) => h.seq)).toEqual([90, 70, 50]);
    expect(results.hasMore).toBe(true);
    expect(results.nextBefore).toBe(50);
    expect(results.summary()).toBe('3 matches so far for “zebra”, newest first');
    results.addPage([hit(40), hit(10)]);
    expect(results.hasMore).toBe(false);
    expect(results.hits.map((h) => h.seq)).toEqual([90, 70, 50, 40, 10]);
    expect(results.summary()).toBe('5 matches for “zebra”, newest first');
  });

  it('says "No matches" and offers no more for an empty first page', () => {
    const results = new RoomSearchResults(3);
    results.start('nothing');
    results.addPage([]);
    expect(results.hasMore).toBe(false);
    expect(results.summary()).toBe('No matches for “nothing”');
  });

  it('never shows a hit twice, and stops when a full page brings nothing new', () => {
    const results = new RoomSearchResults(2);
    results.start('q');
    results.addPage([hit(9), hit(8)]);
    expect(results.addPage([hit(8), hit(5)]).map((h) => h.seq)).toEqual([5]);
    expect(results.hits.map((h) => h.seq)).toEqual([9, 8, 5]);
    results.addPage([hit(5), hit(8)]);
    expect(results.hasMore).toBe(false);
  });

  it('a new search forgets the previous hits', () => {
    const results = new RoomSearchResults(2);
    results.start('a');
    results.addPage([hit(3), hit(2)]);
    results.start('b');
    expect(results.hits).toEqual([]);
    expect(results.hasMore).toBe(false);
    expect(results.q).toBe('b');
  });
});
