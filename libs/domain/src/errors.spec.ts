import { ackCodeOf, DomainError, errorBody, httpStatusOf, type AckErrorCode, type ErrorCode } from './errors';

/**
 * Every ErrorCode with the HTTP status and ack code CONTRACT.md gives it. Typed as a Record so
 * adding a code without listing it here fails `npm run typecheck`.
 */
const EXPECTED: Record<ErrorCode, { status: number; ack: AckErrorCode }> = {
  invalid: { status: 400, ack: 'invalid' },
  unauthorized: { status: 401, ack: 'forbidden' },
  forbidden: { status: 403, ack: 'forbidden' },
  not_found: { status: 404, ack: 'not_found' },
  username_taken: { status: 409, ack: 'invalid' },
  conflict: { status: 409, ack: 'invalid' },
  payload_too_large: { status: 413, ack: 'invalid' },
  rate_limited: { status: 429, ack: 'rate_limited' },
  room_moved: { status: 409, ack: 'room_moved' },
  no_gateway: { status: 503, ack: 'unavailable' },
  unavailable: { status: 503, ack: 'unavailable' },
  internal: { status: 500, ack: 'unavailable' },
};
const CODES = Object.keys(EXPECTED) as ErrorCode[];
/** The only codes a failed ack may carry (CONTRACT.md "Gateway"). */
const CONTRACT_ACK_CODES = ['invalid', 'forbidden', 'not_found', 'rate_limited', 'room_moved', 'unavailable'];

describe(httpStatusOf.name, () => {
  it.each(CODES)('maps %s to its contract status', (code) => {
    expect(httpStatusOf(code)).toBe(EXPECTED[code].status);
  });

  it('maps every code to an HTTP error status', () => {
    for (const code of CODES) {
      const status = httpStatusOf(code);
      expect(Number.isInteger(status)).toBe(true);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });
});

describe(ackCodeOf.name, () => {
  it.each(CODES)('maps %s to its ack code', (code) => {
    expect(ackCodeOf(code)).toBe(EXPECTED[code].ack);
  });

  it('only ever yields codes the contract allows in an ack', () => {
    for (const code of CODES) expect(CONTRACT_ACK_CODES).toContain(ackCodeOf(code));
  });
});

describe(DomainError.name, () => {
  it('carries its code and message and is an Error', () => {
    const err = new DomainError('not_found', 'no such room');
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('not_found');
    expect(err.message).toBe('no such room');
    expect(err.name).toBe('DomainError');
  });
});

describe(errorBody.name, () => {
  it('builds the contract error shape', () => {
    expect(errorBody('rate_limited', 'slow down')).toEqual({ error: { code: 'rate_limited', message: 'slow down' } });
  });
});
