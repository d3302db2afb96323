import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { errorBody } from '../../../../libs/domain/src';
import { codeForStatus } from './http-error.filter';

/** Largest JSON body the API accepts; every request body of the contract is far below it. */
export const MAX_BODY = '16kb';

/**
 * The JSON body parser and its error mapping. Express reports malformed JSON and oversized
 * bodies before Nest sees the request, so they are mapped to the contract's shape here.
 */
export function jsonBody(): [RequestHandler, ErrorRequestHandler] {
  const parse = express.json({ limit: MAX_BODY, strict: true });
  const onError: ErrorRequestHandler = (err: { status?: number; type?: string }, _req, res, next) => {
    if (!err || typeof err.status !== 'number') return next(err);
    const message = err.type === 'entity.too.large' ? `body exceeds ${MAX_BODY}` : 'malformed JSON body';
    res.status(err.status).json(errorBody(codeForStatus(err.status), message));
  };
  return [parse, onError];
}
