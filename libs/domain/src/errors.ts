/**
 * One error vocabulary for HTTP and WebSocket. Adding a code here without a mapping in
 * `httpStatusOf` fails to compile (exhaustive switch).
 */
export type ErrorCode =
  | 'invalid'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'username_taken'
  | 'conflict'
  | 'payload_too_large'
  | 'rate_limited'
  | 'room_moved'
  | 'no_gateway'
  | 'unavailable'
  | 'internal';

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case 'invalid':
      return 400;
    case 'unauthorized':
      return 401;
    case 'forbidden':
      return 403;
    case 'not_found':
      return 404;
    case 'username_taken':
    case 'conflict':
      return 409;
    case 'payload_too_large':
      return 413;
    case 'rate_limited':
      return 429;
    case 'room_moved':
      return 409;
    case 'no_gateway':
    case 'unavailable':
      return 503;
    case 'internal':
      return 500;
  }
}

/** Codes a socket acknowledgement may carry (CONTRACT.md "Gateway"). */
export type AckErrorCode = 'invalid' | 'forbidden' | 'not_found' | 'rate_limited' | 'room_moved' | 'unavailable';

export function ackCodeOf(code: ErrorCode): AckErrorCode {
  switch (code) {
    case 'invalid':
    case 'payload_too_large':
      return 'invalid';
    case 'unauthorized':
    case 'forbidden':
      return 'forbidden';
    case 'not_found':
      return 'not_found';
    case 'rate_limited':
      return 'rate_limited';
    case 'room_moved':
      return 'room_moved';
    case 'username_taken':
    case 'conflict':
      return 'invalid';
    case 'no_gateway':
    case 'unavailable':
    case 'internal':
      return 'unavailable';
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}
