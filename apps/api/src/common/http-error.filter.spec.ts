import { type ArgumentsHost, BadRequestException, Logger } from '@nestjs/common';
import { DriverAdapterError } from '@prisma/driver-adapter-utils';
import { DatabaseError } from 'pg';
import { DomainError } from '../../../../libs/domain/src';
import { Prisma } from '../../../../libs/persistence/src/generated/prisma/client';
import { DATABASE_UNAVAILABLE, HttpErrorFilter } from './http-error.filter';

/**
 * The API's error mapping for a Postgres that is down (DESIGN.md invariant 12, CONTRACT.md
 * `unavailable`): what pg and Prisma 7 (adapter-pg) throw when it refuses, resets or does not
 * answer in time is a 503 `unavailable` naming the database; a bug of ours stays a logged 500.
 * The errors are built in the shapes observed against a real Postgres behind a proxy
 * (libs/persistence/src/database.deadlines.int-spec.ts throws the real ones).
 */
const clientVersion = '7.10.1';

function respond(exception: unknown): { status: number; body: unknown } {
  const res = {
    statusCode: 0,
    body: undefined as unknown,
    status(code: number) {
      this.statusCode = code;
      return this;
    },
    json(body: unknown) {
      this.body = body;
      return this;
    },
  };
  const host = { switchToHttp: () => ({ getResponse: () => res }) } as unknown as ArgumentsHost;
  new HttpErrorFilter().catch(exception, host);
  return { status: res.statusCode, body: res.body };
}

function prisma(code: string, message: string, cause?: ConstructorParameters<typeof DriverAdapterError>[0], meta: Record<string, unknown> = {}) {
  return new Prisma.PrismaClientKnownRequestError(message, {
    code,
    clientVersion,
    meta: { modelName: 'User', ...meta, ...(cause ? { driverAdapterError: new DriverAdapterError(cause) } : {}) },
  });
}

function fromPostgres(code: string, message: string): DatabaseError {
  const err = new DatabaseError(message, 0, 'error');
  err.code = code;
  return err;
}

const unavailable = { status: 503, body: { error: { code: 'unavailable', message: DATABASE_UNAVAILABLE } } };
const internal = { status: 500, body: { error: { code: 'internal', message: 'internal error' } } };

let errors: jest.SpyInstance;
let warnings: jest.SpyInstance;
beforeEach(() => {
  errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

describe('HttpErrorFilter, Postgres unavailable', () => {
  it.each([
    ['pg: connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', syscall: 'connect', errno: -111 })],
    ['pg: connection reset', Object.assign(new Error('connect ECONNRESET 127.0.0.1:5432'), { code: 'ECONNRESET', syscall: 'connect', errno: -104 })],
    ['pg: connect deadline (connectionTimeoutMillis)', new Error('Connection terminated due to connection timeout', { cause: new Error('Connection terminated unexpectedly') })],
    ['pg: no pooled connection within the deadline', new Error('timeout exceeded when trying to connect')],
    ['pg: query deadline (query_timeout)', new Error('Query read timeout')],
    ['pg: connection lost mid-query', new Error('Connection terminated unexpectedly')],
    ['Postgres: 57P01 admin shutdown', fromPostgres('57P01', 'terminating connection due to administrator command')],
    ['Postgres: 53300 too many connections', fromPostgres('53300', 'sorry, too many clients already')],
    ['Prisma: P1001 refused', prisma('P1001', "Can't reach database server at 127.0.0.1:5432", { kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 5432 })],
    ['Prisma: P1017 reset', prisma('P1017', 'Server has closed the connection.', { kind: 'ConnectionClosed' })],
    ['Prisma: P2028 no connection for a transaction within maxWait', new Prisma.PrismaClientKnownRequestError('Transaction API error: Unable to start a transaction in the given time.', { code: 'P2028', clientVersion, meta: {} })],
    ['Prisma: P2028 transaction past its timeout', prisma('P2028', 'A query cannot be executed on an expired transaction.', undefined, { operation: 'query', timeout: 5000, timeTaken: 5400 })],
    [
      'Prisma: P2010 wrapping 57014 statement timeout',
      prisma('P2010', 'Raw query failed. Code: `57014`.', {
        kind: 'postgres',
        code: '57014',
        severity: 'ERROR',
        message: 'canceling statement due to statement timeout',
        detail: undefined,
        column: undefined,
        hint: undefined,
        originalCode: '57014',
        originalMessage: 'canceling statement due to statement timeout',
      }),
    ],
  ])('%s is 503 unavailable, naming the database', (_label, err) => {
    expect(respond(err)).toEqual(unavailable);
    expect(warnings).toHaveBeenCalledTimes(1);
    expect(errors).not.toHaveBeenCalled();
  });

  it('logs one line for Prisma, whose message quotes the calling source', () => {
    respond(prisma('P1001', "\nInvalid `prisma.user.findUnique()` invocation:\n\n  27 const x =\n\nCan't reach database server at 127.0.0.1:5432", { kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 5432 }));
    expect(warnings).toHaveBeenCalledWith("postgres unavailable: PrismaClientKnownRequestError: P1001: Can't reach database server at 127.0.0.1:5432");
  });
});

describe('HttpErrorFilter, everything else', () => {
  it.each([
    ['a plain Error', new Error('boom')],
    ['a TypeError of our own code', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['something thrown that is not an error', 'boom'],
    ['Postgres: 42P01 undefined table (a statement of ours)', fromPostgres('42P01', 'relation "nope" does not exist')],
    ['Postgres: 23505 unique violation no repository turned into a DomainError', fromPostgres('23505', 'duplicate key value')],
    ['Prisma: a validation error (a query of ours)', new Prisma.PrismaClientValidationError('Unknown argument `nope`.', { clientVersion })],
    ['Prisma: P2028 transaction not found (our mistake)', new Prisma.PrismaClientKnownRequestError('Transaction API error: Transaction not found.', { code: 'P2028', clientVersion, meta: {} })],
  ])('%s is 500 internal, and logged', (_label, err) => {
    expect(respond(err)).toEqual(internal);
    expect(errors).toHaveBeenCalledTimes(1);
  });

  it('keeps DomainErrors and HttpExceptions as they were', () => {
    expect(respond(new DomainError('unavailable', 'object storage is unavailable; try again'))).toEqual({
      status: 503,
      body: { error: { code: 'unavailable', message: 'object storage is unavailable; try again' } },
    });
    expect(respond(new DomainError('not_found', 'no such room'))).toEqual({ status: 404, body: { error: { code: 'not_found', message: 'no such room' } } });
    expect(respond(new BadRequestException('bad'))).toEqual({ status: 400, body: { error: { code: 'invalid', message: 'bad' } } });
    expect(errors).not.toHaveBeenCalled();
  });
});
