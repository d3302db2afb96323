import { runInNewContext } from 'node:vm';
import { DriverAdapterError } from '@prisma/driver-adapter-utils';
import { DatabaseError } from 'pg';
import { classifyDbError } from './db-errors';
import { Prisma } from './generated/prisma/client';

/**
 * classifyDbError on what Prisma 7 over adapter-pg throws (database.spec.ts has pg's own errors),
 * and with `otherwise`, for a caller that sees errors of every origin (the API's error filter).
 * The shapes are the ones observed against a refused, reset, silent and timed-out Postgres
 * (database.deadlines.int-spec.ts produces the real ones).
 */
const clientVersion = '7.10.1';

/** A PrismaClientKnownRequestError the way Prisma builds one from adapter-pg's error. */
function known(code: string, cause?: ConstructorParameters<typeof DriverAdapterError>[0], meta: Record<string, unknown> = {}) {
  const driverAdapterError = cause ? { driverAdapterError: new DriverAdapterError(cause) } : {};
  return new Prisma.PrismaClientKnownRequestError(`prisma says ${code}`, { code, clientVersion, meta: { modelName: 'User', ...meta, ...driverAdapterError } });
}

/** adapter-pg's cause for an error Postgres answered with (kind `postgres`, SQLSTATE kept). */
function postgresCause(code: string, message: string) {
  return { kind: 'postgres' as const, code, severity: 'ERROR', message, detail: undefined, column: undefined, hint: undefined, originalCode: code, originalMessage: message };
}

function fromPostgres(code: string): DatabaseError {
  const err = new DatabaseError(`postgres says ${code}`, 0, 'error');
  err.code = code;
  return err;
}

describe('classifyDbError on Prisma errors', () => {
  it.each([
    ['P1001 refused (DatabaseNotReachable)', known('P1001', { kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 5432 })],
    ['P1017 reset (ConnectionClosed)', known('P1017', { kind: 'ConnectionClosed' })],
    ['P1008 socket timeout (SocketTimeout)', known('P1008', { kind: 'SocketTimeout' })],
    ['P2037 too many connections (53300)', known('P2037', { kind: 'TooManyConnections', cause: 'too many', originalCode: '53300', originalMessage: 'sorry' })],
    ['P2010 wrapping 57014 (statement timeout)', known('P2010', postgresCause('57014', 'canceling statement due to statement timeout'))],
    ['P2010 wrapping 57P01 (admin shutdown)', known('P2010', postgresCause('57P01', 'terminating connection due to administrator command'))],
    ['P2028 no connection to start a transaction on within maxWait', new Prisma.PrismaClientKnownRequestError('Transaction API error: Unable to start a transaction in the given time.', { code: 'P2028', clientVersion, meta: {} })],
    ['P2028 a transaction that outlasted its timeout', known('P2028', undefined, { operation: 'query', timeout: 5000, timeTaken: 5400 })],
    ['P1001 at initialization', new Prisma.PrismaClientInitializationError("Can't reach database server", clientVersion, 'P1001')],
    ['a bare DriverAdapterError (ConnectionClosed)', new DriverAdapterError({ kind: 'ConnectionClosed' })],
  ])('blames the connection for %s', (_label, err) => {
    expect(classifyDbError(err)).toBe('connection');
    expect(classifyDbError(err, null)).toBe('connection');
  });

  it.each([
    ['P2002 unique violation (23505)', known('P2002', { kind: 'UniqueConstraintViolation', constraint: { index: 'users_username_key' }, originalCode: '23505', originalMessage: 'x' }), 'data'],
    ['P2007 invalid uuid (22P02)', known('P2007', { kind: 'InvalidInputValue', message: 'invalid input syntax for type uuid', originalCode: '22P02', originalMessage: 'x' }), 'data'],
    ['P2010 syntax error (42601)', known('P2010', postgresCause('42601', 'syntax error at or near "SELEKT"')), 'statement'],
    ['P1000 authentication failed (28P01, a misconfiguration)', known('P1000', { kind: 'AuthenticationFailed', user: 'postgres', originalCode: '28P01', originalMessage: 'x' }), 'statement'],
    ['P2028 transaction not found (our mistake)', new Prisma.PrismaClientKnownRequestError('Transaction API error: Transaction not found.', { code: 'P2028', clientVersion, meta: {} }), 'statement'],
    ['P2025 record not found', known('P2025'), 'statement'],
    ['a validation error (a bad query of ours)', new Prisma.PrismaClientValidationError('Unknown argument `nope`', { clientVersion }), 'statement'],
    ['an unknown request error', new Prisma.PrismaClientUnknownRequestError('??', { clientVersion }), 'statement'],
    ['an initialization error that is no outage', new Prisma.PrismaClientInitializationError('bad engine', clientVersion), 'statement'],
  ])('does not blame the connection for %s', (_label, err, expected) => {
    expect(classifyDbError(err)).toBe(expected);
    expect(classifyDbError(err, null)).toBe(expected);
  });
});

describe('classifyDbError with `otherwise` (errors of every origin)', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', syscall: 'connect', errno: -111 })],
    ['a reset connection', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read', errno: -104 })],
    ['a dropped link', Object.assign(new Error('write EPIPE'), { code: 'EPIPE', syscall: 'write', errno: -32 })],
    ['a socket error of another realm (node core, seen from Jest)', Object.assign(runInNewContext("new Error('connect ECONNREFUSED')") as object, { code: 'ECONNREFUSED', syscall: 'connect', errno: -111 })],
    ['a pg timeout of another realm', runInNewContext("new Error('Query read timeout')")],
    ['pg: a client-side query timeout', new Error('Query read timeout')],
    ['pg: no free pooled connection in time', new Error('timeout exceeded when trying to connect')],
    ['pg: a connection not made in time', new Error('Connection terminated due to connection timeout', { cause: new Error('Connection terminated unexpectedly') })],
    ['pg: a connection lost mid-query', new Error('Connection terminated unexpectedly')],
    ['pg: Postgres said 57P03 (cannot connect now)', fromPostgres('57P03')],
    ['pg: Postgres said 08006 (connection failure)', fromPostgres('08006')],
  ])('blames the connection for %s', (_label, err) => {
    expect(classifyDbError(err, null)).toBe('connection');
  });

  it.each([
    ['a plain Error', new Error('boom')],
    ['a TypeError of our own code', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['an errno error that is no socket failure', Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT', syscall: 'open', errno: -2 })],
    ['a socket code without a syscall (not from node)', Object.assign(new Error('ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['something that is not an error', 'boom'],
    ['undefined', undefined],
  ])('answers `otherwise` for %s', (_label, err) => {
    expect(classifyDbError(err, null)).toBeNull();
    expect(classifyDbError(err, 'not ours')).toBe('not ours');
  });

  it('keeps the default (`connection`) for such errors without `otherwise`, for the group commit', () => {
    expect(classifyDbError(new Error('boom'))).toBe('connection');
    expect(classifyDbError(undefined)).toBe('connection');
  });

  it('classifies Postgres errors the same with or without `otherwise`', () => {
    expect(classifyDbError(fromPostgres('23505'), null)).toBe('data');
    expect(classifyDbError(fromPostgres('42P01'), null)).toBe('statement');
  });
});
