import type { AckErrorCode, ErrorCode } from '../../domain/src/errors.js';

/**
 * Codes a `ClientError` carries: the server's own (an ack's or an HTTP error body's code, passed
 * through unchanged) plus the client's: `timeout` (no acknowledgement in time), `network` (the
 * API could not be reached), `closed` (the handle was closed), `outbox_full`, `kicked`.
 */
export type ClientErrorCode = AckErrorCode | ErrorCode | 'timeout' | 'network' | 'closed' | 'outbox_full' | 'kicked';

export class ClientError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    /** HTTP status when the error came from the API. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}

/**
 * Errors that retrying cannot fix: the request itself is wrong, or this user may not do it.
 * A send that gets one is rejected and leaves the outbox; a reconnect that gets one stops.
 */
export function isFinal(code: ClientErrorCode): boolean {
  switch (code) {
    case 'invalid':
    case 'forbidden':
    case 'not_found':
    case 'unauthorized':
    case 'payload_too_large':
    case 'username_taken':
    case 'conflict':
    case 'closed':
    case 'outbox_full':
    case 'kicked':
      return true;
    default:
      return false;
  }
}
