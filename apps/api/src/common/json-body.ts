import { isUtf8 } from 'node:buffer';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { errorBody } from '../../../../libs/domain/src';
import { codeForStatus } from './http-error.filter';

/** Largest JSON body the API accepts; every request body of the contract is far below it. */
export const MAX_BODY = '16kb';

const NOT_UTF8 = 'body is not valid UTF-8';

/**
 * The JSON body parser and its error mapping. Express reports malformed JSON and oversized
 * bodies before Nest sees the request, so they are mapped to the contract's shape here. A UTF-8
 * body must be valid UTF-8 (the text rule): the decoder would otherwise turn stray bytes into
 * U+FFFD silently, so the server would store something other than what the client sent.
 */
export function jsonBody(): [RequestHandler, ErrorRequestHandler] {
  const parse = express.json({
    limit: MAX_BODY,
    strict: true,
    verify: (_req, _res, buf, encoding) => {
      if (encoding === 'utf-8' && !isUtf8(buf)) throw Object.assign(new Error(NOT_UTF8), { status: 400, type: 'entity.not.utf8' });
    },
  });
  const onError: ErrorRequestHandler = (err: { status?: number; type?: string }, _req, res, next) => {
    if (!err || typeof err.status !== 'number') return next(err);
    const message = err.type === 'entity.too.large' ? `body exceeds ${MAX_BODY}` : err.type === 'entity.not.utf8' ? NOT_UTF8 : 'malformed JSON body';
    res.status(err.status).json(errorBody(codeForStatus(err.status), message));
  };
  return [parse, onError];
}
