import { DomainError, type ErrorCode } from '../errors';

/**
 * Test helper: runs `fn`, expects it to throw a DomainError with `code` (and a message), and
 * returns the error for further checks. Not exported from the library's index.
 */
export function expectDomainError(code: ErrorCode, fn: () => unknown): DomainError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(DomainError);
  expect((caught as DomainError).code).toBe(code);
  expect((caught as DomainError).message).not.toBe('');
  return caught as DomainError;
}
