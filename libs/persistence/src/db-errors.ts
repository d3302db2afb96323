import { DatabaseError } from 'pg';
import { Prisma } from './generated/prisma/client';

/** Postgres error codes this layer reacts to. */
export function pgErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Whose fault a failed statement was, for a caller that shares one statement among many parties:
 * - `connection`: Postgres did not answer the statement itself (a socket error, a refused or
 *   timed-out connection, a client-side query timeout), or answered that it cannot serve now:
 *   class 08 connection exception, 53 insufficient resources, 57 operator intervention
 *   (shutdown, a statement timeout), 58 system error, XX internal error. Nothing says the rows
 *   were wrong, and if the link broke during COMMIT the outcome is unknown.
 * - `data`: Postgres refused the rows themselves: class 22 data exception (e.g. U+0000 in jsonb)
 *   or 23 integrity constraint violation (e.g. a duplicate key). The same rows fail again,
 *   whoever sends them and with whatever else.
 * - `statement`: any other error Postgres answered with (e.g. class 40 transaction rollback,
 *   42 a statement it cannot run).
 */
export type DbFailure = 'connection' | 'data' | 'statement';

const CONNECTION_CLASSES = new Set(['08', '53', '57', '58', 'XX']);
const DATA_CLASSES = new Set(['22', '23']);

/** Node's errors for a connection that could not be made or broke (a `syscall` and an errno). */
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);
/**
 * pg's own errors for a connection that failed, broke or timed out (`connectionTimeoutMillis`,
 * `query_timeout`): plain Errors, told apart only by their messages. Prisma passes these through
 * as they are.
 */
const PG_CONNECTION_MESSAGES =
  /^(Query read timeout|timeout exceeded when trying to connect|Connection terminated( unexpectedly| due to connection timeout)?|Client (has encountered a connection error|was closed) and is not queryable)$/;
/**
 * How Prisma (7, adapter-pg) reports a database it cannot reach or that did not answer in time:
 * P1001 not reachable (refused), P1002/P1008 timed out, P1017 connection closed (reset), P2024
 * no pooled connection in time, P2037 too many connections. Other codes are Prisma's own
 * judgement of a statement (e.g. P2002 unique violation), or carry Postgres's SQLSTATE.
 */
const PRISMA_CONNECTION_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037']);
/** adapter-pg's `DriverAdapterError` kinds for the same cases (the cause inside Prisma's error). */
const ADAPTER_CONNECTION_KINDS = new Set(['DatabaseNotReachable', 'SocketTimeout', 'ConnectionClosed', 'TooManyConnections']);

/**
 * The failure class of `err`, an error of `pg` or of Prisma over adapter-pg (which wraps pg's
 * errors in a `PrismaClientKnownRequestError` whose `meta.driverAdapterError.cause` keeps the
 * SQLSTATE as `originalCode`, or the socket failure as a `kind`, and passes pg's own timeout
 * errors through unwrapped).
 *
 * `otherwise` is what an error that neither Postgres nor its drivers raised counts as (e.g. a bug
 * in our own code). By default `connection`, for a caller whose every error came from a statement
 * it sent (the group commit: no outcome is known, nobody is blamed); a caller that sees every kind
 * of error (the API's error filter) passes e.g. `null`, so only a real database failure is one.
 */
export function classifyDbError(err: unknown): DbFailure;
export function classifyDbError<T>(err: unknown, otherwise: T): DbFailure | T;
export function classifyDbError(err: unknown, ...rest: [otherwise?: unknown]): unknown {
  const otherwise = rest.length > 0 ? rest[0] : 'connection';
  // Only an error Postgres sent has a SQLSTATE; node's socket errors have codes like EPIPE.
  if (err instanceof DatabaseError) return typeof err.code === 'string' ? bySqlState(err.code) : 'connection';
  if (isPrismaError(err)) return classifyPrismaError(err);
  // Not `instanceof Error`: node's socket errors may come from another realm (e.g. under Jest).
  if (typeof err !== 'object' || err === null) return otherwise;
  const { code, syscall, message } = err as Partial<NodeJS.ErrnoException>;
  if (typeof syscall === 'string' && typeof code === 'string' && SOCKET_ERRORS.has(code)) return 'connection';
  return typeof message === 'string' && PG_CONNECTION_MESSAGES.test(message) ? 'connection' : otherwise;
}

function bySqlState(code: string): DbFailure {
  const sqlClass = code.slice(0, 2);
  if (CONNECTION_CLASSES.has(sqlClass)) return 'connection';
  return DATA_CLASSES.has(sqlClass) ? 'data' : 'statement';
}

type PrismaError =
  | Prisma.PrismaClientKnownRequestError
  | Prisma.PrismaClientInitializationError
  | Prisma.PrismaClientUnknownRequestError
  | Prisma.PrismaClientRustPanicError
  | Prisma.PrismaClientValidationError;

/** adapter-pg's error as Prisma carries it (`meta.driverAdapterError`), or as it is. */
interface AdapterError {
  name: 'DriverAdapterError';
  cause: { kind?: unknown; originalCode?: unknown };
}

function isAdapterError(err: unknown): err is AdapterError {
  const cause = (err as { cause?: unknown } | null)?.cause;
  return (err as { name?: unknown } | null)?.name === 'DriverAdapterError' && typeof cause === 'object' && cause !== null;
}

function isPrismaError(err: unknown): err is PrismaError | AdapterError {
  return (
    err instanceof Prisma.PrismaClientKnownRequestError ||
    err instanceof Prisma.PrismaClientInitializationError ||
    err instanceof Prisma.PrismaClientUnknownRequestError ||
    err instanceof Prisma.PrismaClientRustPanicError ||
    err instanceof Prisma.PrismaClientValidationError ||
    isAdapterError(err)
  );
}

function classifyPrismaError(err: PrismaError | AdapterError): DbFailure {
  const adapterError = isAdapterError(err) ? err : (err as { meta?: { driverAdapterError?: unknown } }).meta?.driverAdapterError;
  if (isAdapterError(adapterError)) {
    const { kind, originalCode } = adapterError.cause;
    if (typeof originalCode === 'string' && /^[0-9A-Z]{5}$/.test(originalCode)) return bySqlState(originalCode);
    if (typeof kind === 'string' && ADAPTER_CONNECTION_KINDS.has(kind)) return 'connection';
  }
  if (err instanceof Prisma.PrismaClientKnownRequestError) {
    if (PRISMA_CONNECTION_CODES.has(err.code)) return 'connection';
    // P2028 is every transaction-API error; only its deadlines are the database's doing: no
    // connection to start on within `maxWait`, or statements that outlasted `timeout`. The rest
    // (an unknown or already closed transaction, a bad isolation level) are our own mistakes.
    if (err.code === 'P2028') {
      const timedOut = typeof (err.meta as { timeout?: unknown } | undefined)?.timeout === 'number';
      return timedOut || err.message.includes('Unable to start a transaction in the given time') ? 'connection' : 'statement';
    }
  }
  if (err instanceof Prisma.PrismaClientInitializationError && err.errorCode !== undefined && PRISMA_CONNECTION_CODES.has(err.errorCode)) {
    return 'connection';
  }
  return 'statement';
}
