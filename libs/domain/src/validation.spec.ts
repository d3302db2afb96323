import { expectDomainError } from './testing/expect-domain-error';
import { DomainError } from './errors';
import { MAX_CLIENT_MSG_ID_LENGTH, MAX_TEXT_LENGTH } from './socket-events';
import { isStorableText, parseOrThrow, schemas } from './validation';

const invalid = (fn: () => unknown) => expectDomainError('invalid', fn);

/** Strings the log cannot hold as they are: U+0000 and every shape of lone surrogate. */
const unstorable: Array<[string, string]> = [
  ['U+0000', 'a\u0000b'],
  ['a lone high surrogate', 'a\ud800b'],
  ['a lone low surrogate', 'a\udc00b'],
  ['a high surrogate at the end', 'ab\udbff'],
  ['a reversed pair', '\ude00\ud83d'],
];

describe(isStorableText.name, () => {
  it.each(unstorable)('refuses %s', (_label, value) => {
    expect(isStorableText(value)).toBe(false);
  });

  it.each([
    ['plain ASCII', 'hello'],
    ['an emoji (a valid surrogate pair)', 'hi \ud83d\ude00'],
    ['U+FFFD and U+FFFF', '\ufffd\uffff'],
    ['other control characters', '\u0001\t\n\u001f\u007f'],
    ['the empty string', ''],
  ])('accepts %s', (_label, value) => {
    expect(isStorableText(value)).toBe(true);
  });
});

describe('the text rule on every text field', () => {
  // Each schema with a valid payload and the string fields it has: a poisoned value in any of
  // them is `invalid`, and the message names the field.
  const fields: Array<[keyof typeof schemas, Record<string, unknown>, string]> = [
    ['register', { username: 'abc', password: 'correct horse' }, 'username'],
    ['register', { username: 'abc', password: 'correct horse' }, 'password'],
    ['login', { username: 'abc', password: 'x' }, 'username'],
    ['login', { username: 'abc', password: 'x' }, 'password'],
    ['createRoom', { name: 'lobby' }, 'name'],
    ['send', { clientMsgId: 'c-1', text: 'hello' }, 'clientMsgId'],
    ['send', { clientMsgId: 'c-1', text: 'hello' }, 'text'],
    ['edit', { seq: 2, text: 'hello' }, 'text'],
  ];

  describe.each(fields)('%s.%s', (schema, valid, field) => {
    it('accepts the valid payload (with an emoji in the field)', () => {
      const withEmoji = { ...valid, [field]: `${String(valid[field])}\ud83d\ude00` };
      // The register username has its own character set; the emoji is for the free-text fields.
      const payload = schema === 'register' && field === 'username' ? valid : withEmoji;
      expect(parseOrThrow(schemas[schema], payload)).toMatchObject(payload);
    });

    it.each(unstorable)('rejects %s', (_label, bad) => {
      const err = invalid(() => parseOrThrow(schemas[schema], { ...valid, [field]: `${String(valid[field])}${bad}` }));
      expect(err.message).toContain(field);
    });
  });

  it('says why a value breaks the rule', () => {
    expect(invalid(() => parseOrThrow(schemas.send, { clientMsgId: 'c', text: 'a\u0000' })).message).toBe(
      'text: must be valid Unicode without U+0000 or lone surrogates',
    );
  });
});

describe(parseOrThrow.name, () => {
  describe('send', () => {
    it('accepts a valid payload and returns the parsed data', () => {
      expect(parseOrThrow(schemas.send, { clientMsgId: 'abc', text: 'hello' })).toEqual({ clientMsgId: 'abc', text: 'hello' });
    });

    it('rejects unknown fields and names them', () => {
      const err = invalid(() => parseOrThrow(schemas.send, { clientMsgId: 'a', text: 'b', author: 'mallory', extra: 1 }));
      expect(err.message).toContain('author');
      expect(err.message).toContain('extra');
    });

    it(`accepts text of 1 and ${MAX_TEXT_LENGTH} characters, rejects empty and ${MAX_TEXT_LENGTH + 1}`, () => {
      expect(MAX_TEXT_LENGTH).toBe(4000);
      expect(parseOrThrow(schemas.send, { clientMsgId: 'a', text: 'x' }).text).toBe('x');
      expect(parseOrThrow(schemas.send, { clientMsgId: 'a', text: 'x'.repeat(4000) }).text).toHaveLength(4000);
      expect(invalid(() => parseOrThrow(schemas.send, { clientMsgId: 'a', text: '' })).message).toContain('text');
      expect(invalid(() => parseOrThrow(schemas.send, { clientMsgId: 'a', text: 'x'.repeat(4001) })).message).toContain('text');
    });

    it(`accepts clientMsgId of 1 to ${MAX_CLIENT_MSG_ID_LENGTH} characters only`, () => {
      expect(MAX_CLIENT_MSG_ID_LENGTH).toBe(64);
      expect(parseOrThrow(schemas.send, { clientMsgId: 'c', text: 't' }).clientMsgId).toBe('c');
      expect(parseOrThrow(schemas.send, { clientMsgId: 'c'.repeat(64), text: 't' }).clientMsgId).toHaveLength(64);
      expect(invalid(() => parseOrThrow(schemas.send, { clientMsgId: '', text: 't' })).message).toContain('clientMsgId');
      expect(invalid(() => parseOrThrow(schemas.send, { clientMsgId: 'c'.repeat(65), text: 't' })).message).toContain('clientMsgId');
    });

    it('rejects wrong types and missing fields', () => {
      expect(invalid(() => parseOrThrow(schemas.send, { clientMsgId: 42, text: 't' })).message).toContain('clientMsgId');
      expect(invalid(() => parseOrThrow(schemas.send, { clientMsgId: 'c', text: ['t'] })).message).toContain('text');
      expect(invalid(() => parseOrThrow(schemas.send, { clientMsgId: 'c' })).message).toContain('text');
    });

    it.each([
      ['a string', 'hello'],
      ['an array', [{ clientMsgId: 'a', text: 'b' }]],
      ['null', null],
      ['undefined', undefined],
      ['a number', 42],
      ['a boolean', true],
    ])('rejects %s as payload', (_label, payload) => {
      invalid(() => parseOrThrow(schemas.send, payload));
    });
  });

  describe('edit and delete', () => {
    it('accept a positive integer seq', () => {
      expect(parseOrThrow(schemas.edit, { seq: 2, text: 'new' })).toEqual({ seq: 2, text: 'new' });
      expect(parseOrThrow(schemas.delete, { seq: 7 })).toEqual({ seq: 7 });
    });

    it.each([0, -1, 1.5, '3', null, 2_147_483_648])('reject seq %p', (seq) => {
      expect(invalid(() => parseOrThrow(schemas.delete, { seq })).message).toContain('seq');
      invalid(() => parseOrThrow(schemas.edit, { seq, text: 'x' }));
    });

    it('edit enforces the text limits too', () => {
      invalid(() => parseOrThrow(schemas.edit, { seq: 2, text: '' }));
      invalid(() => parseOrThrow(schemas.edit, { seq: 2, text: 'x'.repeat(4001) }));
      expect(invalid(() => parseOrThrow(schemas.delete, { seq: 2, text: 'x' })).message).toContain('text');
    });
  });

  describe('register', () => {
    const password = 'correct horse';

    it.each(['abc', 'a'.repeat(32), 'user_name.with-dots', '0123'])('accepts username %p', (username) => {
      expect(parseOrThrow(schemas.register, { username, password }).username).toBe(username);
    });

    it.each(['ab', 'a'.repeat(33), 'Alice', 'has space', 'émile', 'semi;colon', ''])('rejects username %p', (username) => {
      expect(invalid(() => parseOrThrow(schemas.register, { username, password })).message).toContain('username');
    });

    it('accepts passwords of 8 to 128 characters only', () => {
      expect(parseOrThrow(schemas.register, { username: 'abc', password: '12345678' }).password).toBe('12345678');
      expect(parseOrThrow(schemas.register, { username: 'abc', password: 'p'.repeat(128) }).password).toHaveLength(128);
      expect(invalid(() => parseOrThrow(schemas.register, { username: 'abc', password: '1234567' })).message).toContain('password');
      expect(invalid(() => parseOrThrow(schemas.register, { username: 'abc', password: 'p'.repeat(129) })).message).toContain('password');
    });

    it('rejects a role smuggled into the body', () => {
      expect(invalid(() => parseOrThrow(schemas.register, { username: 'abc', password, role: 'admin' })).message).toContain('role');
    });
  });

  describe('login', () => {
    it('requires both fields as strings', () => {
      expect(parseOrThrow(schemas.login, { username: 'abc', password: 'x' })).toEqual({ username: 'abc', password: 'x' });
      invalid(() => parseOrThrow(schemas.login, { username: 'abc' }));
      invalid(() => parseOrThrow(schemas.login, { username: 'abc', password: 12345678 }));
    });
  });

  describe('createRoom', () => {
    it('accepts names of 1 to 100 characters', () => {
      expect(parseOrThrow(schemas.createRoom, { name: 'x' }).name).toBe('x');
      expect(parseOrThrow(schemas.createRoom, { name: 'n'.repeat(100) }).name).toHaveLength(100);
    });

    it('rejects empty, blank and too-long names', () => {
      expect(invalid(() => parseOrThrow(schemas.createRoom, { name: '' })).message).toContain('name');
      expect(invalid(() => parseOrThrow(schemas.createRoom, { name: '   ' })).message).toContain('name');
      expect(invalid(() => parseOrThrow(schemas.createRoom, { name: 'n'.repeat(101) })).message).toContain('name');
      invalid(() => parseOrThrow(schemas.createRoom, { name: 5 }));
      invalid(() => parseOrThrow(schemas.createRoom, {}));
    });
  });

  describe('historyQuery', () => {
    it('parses numeric strings into numbers', () => {
      expect(parseOrThrow(schemas.historyQuery, { after: '10', limit: '500' })).toEqual({ after: 10, limit: 500 });
      expect(parseOrThrow(schemas.historyQuery, { before: '3', limit: '1' })).toEqual({ before: 3, limit: 1 });
      expect(parseOrThrow(schemas.historyQuery, {})).toEqual({});
    });

    it.each(['0', '501', '9999', '-1', 'abc', '1.5', ''])('rejects limit %p', (limit) => {
      expect(invalid(() => parseOrThrow(schemas.historyQuery, { limit })).message).toContain('limit');
    });

    it('rejects after and before together', () => {
      expect(invalid(() => parseOrThrow(schemas.historyQuery, { after: '1', before: '9' })).message).toMatch(/after and before/);
    });

    it.each([{ after: 'x' }, { before: '-2' }, { after: '12345678901' }])('rejects non-numeric seq %p', (query) => {
      invalid(() => parseOrThrow(schemas.historyQuery, query));
    });

    it('rejects unknown query parameters', () => {
      expect(invalid(() => parseOrThrow(schemas.historyQuery, { page: '2' })).message).toContain('page');
    });

    // seq columns are Postgres int4: a larger number must be refused here, not fail the query.
    it.each(['after', 'before'])('accepts %s up to the int4 maximum', (field) => {
      expect(parseOrThrow(schemas.historyQuery, { [field]: '2147483647' })).toEqual({ [field]: 2_147_483_647 });
      expect(parseOrThrow(schemas.historyQuery, { [field]: '0' })).toEqual({ [field]: 0 });
    });

    it.each([
      ['after', '2147483648'],
      ['after', '9999999999'],
      ['before', '2147483648'],
      ['before', '9999999999'],
    ])('rejects %s=%s (beyond int4) naming the field', (field, value) => {
      expect(invalid(() => parseOrThrow(schemas.historyQuery, { [field]: value })).message).toMatch(new RegExp(`^${field}: `));
    });
  });

  describe('roomSearchQuery', () => {
    it('parses before up to the int4 maximum', () => {
      expect(parseOrThrow(schemas.roomSearchQuery, { q: 'x', before: '2147483647' })).toEqual({ q: 'x', before: 2_147_483_647 });
      expect(parseOrThrow(schemas.roomSearchQuery, { q: 'x', before: '12', limit: '5' })).toEqual({ q: 'x', before: 12, limit: 5 });
    });

    it.each(['2147483648', '3000000000', '9999999999', '12345678901', '-1', 'x'])('rejects before=%p naming the field', (before) => {
      expect(invalid(() => parseOrThrow(schemas.roomSearchQuery, { q: 'x', before })).message).toMatch(/^before: /);
    });
  });

  describe('join', () => {
    it('accepts an empty payload and a non-negative integer afterSeq', () => {
      expect(parseOrThrow(schemas.join, {})).toEqual({});
      expect(parseOrThrow(schemas.join, { afterSeq: 0 })).toEqual({ afterSeq: 0 });
      expect(parseOrThrow(schemas.join, { afterSeq: 42 })).toEqual({ afterSeq: 42 });
    });

    it.each([-1, 1.5, '3', null])('rejects afterSeq %p', (afterSeq) => {
      expect(invalid(() => parseOrThrow(schemas.join, { afterSeq })).message).toContain('afterSeq');
    });

    it('rejects unknown fields', () => {
      expect(invalid(() => parseOrThrow(schemas.join, { afterSeq: 1, roomId: 'r' })).message).toContain('roomId');
    });
  });
});

describe('membership payloads', () => {
  const USER = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

  it('accepts the contract shapes', () => {
    expect(parseOrThrow(schemas.leave, {})).toEqual({});
    expect(parseOrThrow(schemas.invite, { username: 'bob_1' })).toEqual({ username: 'bob_1' });
    expect(parseOrThrow(schemas.role, { userId: USER, role: 'moderator' })).toEqual({ userId: USER, role: 'moderator' });
    expect(parseOrThrow(schemas.ban, { userId: USER, reason: 'r'.repeat(200) }).reason).toHaveLength(200);
    expect(parseOrThrow(schemas.remove, { userId: USER })).toEqual({ userId: USER });
    expect(parseOrThrow(schemas.mute, { userId: USER, seconds: 0 })).toEqual({ userId: USER, seconds: 0 });
    expect(parseOrThrow(schemas.mute, { userId: USER, seconds: 604_800 }).seconds).toBe(604_800);
    expect(parseOrThrow(schemas.createRoom, { name: 'x', visibility: 'private' })).toEqual({ name: 'x', visibility: 'private' });
  });

  it.each([
    ['room:leave with a field', schemas.leave, { userId: USER }],
    ['invite without a username', schemas.invite, {}],
    ['invite of a username with U+0000', schemas.invite, { username: 'bo\u0000b' }],
    ['role owner (never granted)', schemas.role, { userId: USER, role: 'owner' }],
    ['a user id that is not one', schemas.ban, { userId: 'bob' }],
    ['a reason over 200 characters', schemas.ban, { userId: USER, reason: 'r'.repeat(201) }],
    ['a reason with a lone surrogate', schemas.remove, { userId: USER, reason: '\ud800' }],
    ['a mute over a week', schemas.mute, { userId: USER, seconds: 604_801 }],
    ['a negative mute', schemas.mute, { userId: USER, seconds: -1 }],
    ['a fractional mute', schemas.mute, { userId: USER, seconds: 1.5 }],
    ['an unknown field', schemas.unban, { userId: USER, extra: 1 }],
    ['a visibility the contract does not name', schemas.createRoom, { name: 'x', visibility: 'secret' }],
    ['GET /rooms limit 101', schemas.roomsQuery, { limit: '101' }],
  ] as const)('refuses %s', (_label, schema, payload) => {
    invalid(() => parseOrThrow(schema as never, payload));
  });
});
