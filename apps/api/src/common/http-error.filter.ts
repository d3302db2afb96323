import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { DomainError, errorBody, httpStatusOf, type ErrorCode } from '../../../../libs/domain/src';
import { classifyDbError } from '../../../../libs/persistence/src';

/** The answer while Postgres cannot be reached or does not answer in time (DESIGN.md invariant 12). */
export const DATABASE_UNAVAILABLE = 'the database is unavailable; try again';

/** Maps every error to the contract's `{error: {code, message}}` with the fitting status. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const { status, code, message } = this.describe(exception);
    res.status(status).json(errorBody(code, message));
  }

  private describe(exception: unknown): { status: number; code: ErrorCode; message: string } {
    if (exception instanceof DomainError) {
      return { status: httpStatusOf(exception.code), code: exception.code, message: exception.message };
    }
    if (exception instanceof HttpException) {
      // A path parameter whose percent-encoding does not decode (e.g. the UTF-8 bytes of a lone
      // surrogate) names no resource, like any other unknown id: 404, not 400 (CONTRACT.md).
      if (exception.cause instanceof URIError) return { status: 404, code: 'not_found', message: 'no such resource' };
      const status = exception.getStatus();
      return { status, code: codeForStatus(status), message: exception.message };
    }
    // Postgres refused, reset or timed out (pg's deadlines, or Prisma's wrappers of the same):
    // a 503 the client retries, not a 500. With `null`, an error that neither Postgres nor its
    // drivers raised (a bug of ours) is no database failure and stays a logged 500.
    if (classifyDbError(exception, null) === 'connection') {
      this.logger.warn(`postgres unavailable: ${describeCause(exception)}`);
      return { status: 503, code: 'unavailable', message: DATABASE_UNAVAILABLE };
    }
    this.logger.error((exception as Error)?.stack ?? String(exception));
    return { status: 500, code: 'internal', message: 'internal error' };
  }
}

/** One line for the log: Prisma's messages quote the calling source over many lines. */
function describeCause(exception: unknown): string {
  const err = exception as { name?: unknown; code?: unknown; message?: unknown };
  const message = typeof err?.message === 'string' ? err.message.trim().split('\n').at(-1) : String(exception);
  return [err?.name, err?.code, message].filter((part) => typeof part === 'string' && part !== '').join(': ');
}

export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'invalid';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 413:
      return 'payload_too_large';
    case 429:
      return 'rate_limited';
    case 503:
      return 'unavailable';
    default:
      return status >= 500 ? 'internal' : 'invalid';
  }
}
