import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { DomainError, errorBody, httpStatusOf, type ErrorCode } from '../../../../libs/domain/src';

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
    this.logger.error((exception as Error)?.stack ?? String(exception));
    return { status: 500, code: 'internal', message: 'internal error' };
  }
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
