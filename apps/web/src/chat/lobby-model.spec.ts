import { checkRoomName, checkSearchQuery, parseRoomRef, roomRoleLabel, searchSummary, unreadBadge } from './lobby-model';

const ID = '0b6f4c1e-6a53-4f55-9a0e-3f1f7f4c2b11';

describe('parseRoomRef', () => {
  it.each([
    [ID, ID],
    [`  ${ID}  `, ID],
    [`https://chat.example.com/r/${ID}`, ID],
    [`http://127.0.0.1:4000/r/${ID}/`, ID],
    [`/r/${ID}`, ID],
    [`r/${ID}`, ID],
    [`chat.example.com/r/${ID}?from=mail#latest`, ID],
    ['https://x.test/r/a%20b', 'a b'],
  ])('finds the room id in %j', (input, id) => {
    expect(parseRoomRef(input)).toBe(id);
  });

  it.each([
    ['', 'empty'],
    ['   ', 'blank'],
    ['two words', 'a bare id with spaces'],
    ['https://chat.example.com/admin', 'another page of the app'],
    ['https://chat.example.com/', 'the lobby itself'],
    [`https://chat.example.com/r/${ID}/extra`, 'a deeper path'],
    ['https://chat.example.com/r/%E0%A4%A', 'a malformed %-escape'],
    ['https://chat.example.com/r/a%2Fb', 'an id that decodes to a slash'],
    ['https://chat.example.com/room/abc', 'a path that only ends like one'],
  ])('refuses %j (%s)', (input) => {
    expect(parseRoomRef(input)).toBeNull();
  });
});

describe('checkRoomName', () => {
  it('trims like the API and accepts 1 to 100 characters', () => {
    expect(checkRoomName('  general  ')).toEqual({ name: 'general' });
    expect(checkRoomName('x')).toEqual({ name: 'x' });
    expect(checkRoomName('n'.repeat(100))).toEqual({ name: 'n'.repeat(100) });
  });

  it('says what is wrong with an empty, too long or unstorable name', () => {
    expect(checkRoomName('   ')).toEqual({ code: 'invalid', message: 'give the room a name' });
    expect(checkRoomName('n'.repeat(101))).toEqual({ code: 'invalid', message: 'a room name has at most 100 characters (this one has 101)' });
    expect(checkRoomName('a\u0000b')).toMatchObject({ code: 'invalid' });
    expect(checkRoomName('a\uD800b')).toMatchObject({ code: 'invalid' });
    expect(checkRoomName('emoji 🦊')).toEqual({ name: 'emoji 🦊' });
  });
});

describe('checkSearchQuery', () => {
  it('accepts 1 to 200 characters, trimmed', () => {
    expect(checkSearchQuery(' fox ')).toEqual({ q: 'fox' });
    expect(checkSearchQuery('q'.repeat(200))).toEqual({ q: 'q'.repeat(200) });
  });

  it('refuses an empty or too long query', () => {
    expect(checkSearchQuery('')).toEqual({ code: 'invalid', message: 'type a word to search for' });
    expect(checkSearchQuery('q'.repeat(201))).toEqual({ code: 'invalid', message: 'a search has at most 200 characters (this one has 201)' });
    expect(checkSearchQuery('\uDC00')).toMatchObject({ code: 'invalid' });
  });
});

describe('labels', () => {
  it('shows visibility and role as the DOM contract spells them', () => {
    expect(roomRoleLabel({ visibility: 'private', role: 'owner' })).toBe('private · owner');
    expect(roomRoleLabel({ visibility: 'public', role: 'member' })).toBe('public · member');
  });

  it('gives a badge only for unread messages', () => {
    expect(unreadBadge(5)).toEqual({ text: '5', label: '5 unread' });
    expect(unreadBadge(1)).toEqual({ text: '1', label: '1 unread' });
    expect(unreadBadge(0)).toBeNull();
    expect(unreadBadge(-1)).toBeNull();
    expect(unreadBadge(Number.NaN)).toBeNull();
  });

  it('summarises search results, "No matches" when empty', () => {
    expect(searchSummary(0, 'fox')).toBe('No matches for “fox”');
    expect(searchSummary(1, 'fox')).toBe('1 match for “fox”');
    expect(searchSummary(3, 'fox')).toBe('3 matches for “fox”');
  });
});
