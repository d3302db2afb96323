import { DatabaseError } from 'pg';
import { classifyDbError } from './db-errors';

/** An error as Postgres sends it (what `pg` rejects a query with). */
function fromPostgres(code: string): DatabaseError {
  const err = new DatabaseError(`postgres says ${code}`, 0, 'error');
  err.code = code;
  return err;
}

describe(classifyDbError.name, () => {
  it.each([
    ['22P05 (U+0000 in jsonb)', '22P05'],
    ['22021 (a byte sequence the encoding refuses)', '22021'],
    ['22P02 (invalid text representation)', '22P02'],
    ['23505 (unique violation)', '23505'],
    ['23514 (check violation)', '23514'],
  ])('blames the rows for %s', (_label, code) => {
    expect(classifyDbError(fromPostgres(code))).toBe('data');
  });

  it.each([
    ['08006 (connection failure)', '08006'],
    ['53300 (too many connections)', '53300'],
    ['57014 (statement timeout)', '57014'],
    ['57P01 (admin shutdown)', '57P01'],
    ['57P03 (cannot connect now)', '57P03'],
    ['58030 (I/O error)', '58030'],
    ['XX000 (internal error)', 'XX000'],
  ])('blames the database for %s', (_label, code) => {
    expect(classifyDbError(fromPostgres(code))).toBe('connection');
  });

  it.each([
    ['a socket error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['a client-side query timeout', new Error('Query read timeout')],
    ['a pool timeout', new Error('timeout exceeded when trying to connect')],
    ['something that is not an error', 'boom'],
  ])('blames the connection for %s (no SQLSTATE)', (_label, err) => {
    expect(classifyDbError(err)).toBe('connection');
  });

  it.each([
    ['40001 (serialization failure)', '40001'],
    ['42P01 (undefined table)', '42P01'],
  ])('calls %s a statement failure', (_label, code) => {
    expect(classifyDbError(fromPostgres(code))).toBe('statement');
  });
});
