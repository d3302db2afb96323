import { parseJson, responseError } from './http-api.js';

describe('responseError', () => {
  it("takes the contract's error body when there is one", () => {
    expect(responseError(409, 'Conflict', { error: { code: 'username_taken', message: 'taken' } })).toEqual({ code: 'username_taken', message: 'taken' });
  });

  it('falls back to what the status means when the body is not the contract’s (a proxy page)', () => {
    expect(responseError(400, 'Bad Request', undefined)).toEqual({ code: 'invalid', message: 'Bad Request' });
    expect(responseError(401, 'Unauthorized', { error: 'nope' })).toEqual({ code: 'unauthorized', message: 'Unauthorized' });
    expect(responseError(403, 'Forbidden', null)).toEqual({ code: 'forbidden', message: 'Forbidden' });
    expect(responseError(404, 'Not Found', [])).toEqual({ code: 'not_found', message: 'Not Found' });
    expect(responseError(429, 'Too Many Requests', {})).toEqual({ code: 'rate_limited', message: 'Too Many Requests' });
    expect(responseError(502, 'Bad Gateway', '<html>')).toEqual({ code: 'unavailable', message: 'Bad Gateway' });
  });

  it('keeps a code and replaces a missing message by the status text', () => {
    expect(responseError(503, 'Service Unavailable', { error: { code: 'no_gateway' } })).toEqual({ code: 'no_gateway', message: 'Service Unavailable' });
  });
});

describe('parseJson', () => {
  it('parses JSON and gives undefined for an empty or non-JSON body', () => {
    expect(parseJson('{"a":1}')).toEqual({ a: 1 });
    expect(parseJson('')).toBeUndefined();
    expect(parseJson('<html>')).toBeUndefined();
  });
});
