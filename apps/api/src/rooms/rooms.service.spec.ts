import { expectDomainError } from '../../../../libs/domain/src/testing/expect-domain-error';
import { decodeCursor, encodeCursor } from './rooms.service';

const ROOM = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const TS = '2026-03-07T12:34:56.789Z';

/** A cursor as a client could hand-make it: base64url of any JSON. */
const forged = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

describe(decodeCursor.name, () => {
  it.each([
    ['a room id and activity time', { ts: TS, id: ROOM }],
    ['an upper-case id', { ts: TS, id: ROOM.toUpperCase() }],
    ['the epoch (a room with no event)', { ts: new Date(0).toISOString(), id: ROOM }],
    ['year 0001', { ts: '0001-01-01T00:00:00.000Z', id: ROOM }],
    ['year 9999', { ts: '9999-12-31T23:59:59.999Z', id: ROOM }],
  ])('round-trips what encodeCursor writes: %s', (_label, cursor) => {
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  });

  // Each of these reached Postgres as a `uuid` or `timestamptz` parameter and failed with a 500.
  it.each([
    ['an id of 36 dashes', forged([TS, '-'.repeat(36)])],
    ['an id of 36 hex digits', forged([TS, 'a'.repeat(36)])],
    ['an id with misplaced dashes', forged([TS, '3f2504e04-f89-41d3-9a0c-0305e82c3301'])],
    ['an id that is not one', forged([TS, 'room-1'])],
    ['an id that is not a string', forged([TS, 42])],
    ['an unparseable time', forged(['yesterday', ROOM])],
    ['30 February', forged(['2026-02-30T00:00:00.000Z', ROOM])],
    ['year 0000 (Postgres has none)', forged(['0000-01-01T00:00:00.000Z', ROOM])],
    ['a year beyond 9999', forged(['+010000-01-01T00:00:00.000Z', ROOM])],
    ['a loose time Date.parse takes but Postgres does not', forged(['1', ROOM])],
    ['a time that is not a string', forged([0, ROOM])],
    ['one part', forged([TS])],
    ['three parts', forged([TS, ROOM, 'extra'])],
    ['an object', forged({ ts: TS, id: ROOM })],
    ['a JSON string', forged(`${TS},${ROOM}`)],
    ['JSON null', forged(null)],
    ['non-JSON', Buffer.from('not json', 'utf8').toString('base64url')],
    ['plain text', 'nonsense'],
    ['an empty string', ''],
  ])('refuses %s as invalid, naming before', (_label, cursor) => {
    expect(expectDomainError('invalid', () => decodeCursor(cursor)).message).toMatch(/^before: /);
  });
});
