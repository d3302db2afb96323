import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import type { Request, RequestHandler } from 'express';
import type { Principal } from '../../../../libs/auth/src';
import { runWithLogFields } from '../../../../libs/runtime/src/logger';
import { matchedRoute } from '../metrics/api.metrics';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/**
 * An incoming request id we keep: what proxies and tracing tools send (UUIDs, hex, base64,
 * `name:part`), at most 128 characters. Anything else could break a log line or a header and
 * is replaced by a fresh id.
 */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:/+=-]{1,128}$/;

/** The caller's `X-Request-Id` when it is sane (only the first of repeated headers), otherwise a new UUID. */
export function requestIdOf(header: string | string[] | undefined): string {
  const given = Array.isArray(header) ? header[0] : header;
  return given !== undefined && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** Probes and scrapes arrive every few seconds from every replica: logged at debug only. */
const QUIET_PATHS = /^\/(health\/(live|ready)|metrics)$/;

/**
 * Gives every request an id: taken from a sane `X-Request-Id` or generated, echoed in the
 * response's `X-Request-Id`, and on every log line written while the request is handled. When
 * the response finishes it writes one line: method, route template, status, duration, user and
 * room (never the query string, which may hold a search text, nor headers or bodies). 5xx
 * answers are logged at warn. Mount it first, so every answer gets an id.
 */
export function requestLog(logger = new Logger('Http')): RequestHandler {
  return (req, res, next) => {
    const requestId = requestIdOf(req.headers['x-request-id']);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const started = performance.now();
    res.once('finish', () => {
      const route = matchedRoute(req);
      const fields = {
        msg: `${req.method} ${route ?? req.path.slice(0, 100)} ${res.statusCode}`,
        requestId,
        method: req.method,
        route: route ?? 'unmatched',
        status: res.statusCode,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        userId: (req as Request & { principal?: Principal }).principal?.id,
        roomId: typeof req.params?.roomId === 'string' ? req.params.roomId : undefined,
      };
      if (res.statusCode >= 500) logger.warn(fields);
      else if (QUIET_PATHS.test(req.path)) logger.debug(fields);
      else logger.log(fields);
    });
    runWithLogFields({ requestId }, next);
  };
}
