import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import express, { type RequestHandler } from 'express';
import type { AppConfig } from '../../../../libs/config/src';

/** The only paths the web client answers; everything else falls through to the API routes. */
export const WEB_PATHS = ['/', '/app.js', '/app.css'] as const;
const SERVED = new Set<string>(WEB_PATHS);

/**
 * The folder of the web client (apps/api/web: plain HTML, one JS file, CSS; no build step). It is
 * served from the source tree, found by walking up from this file: from
 * apps/api/src/web/ (ts-node, jest) and from dist/apps/api/src/web/ (the build) alike.
 */
export function webRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'apps', 'api', 'web');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`web client not found above ${from} (apps/api/web/index.html)`);
  }
}

/**
 * Content-Security-Policy of the web client's responses. Inline scripts and styles, eval,
 * plugins, frames and foreign form targets are refused; the page only runs /app.js.
 *
 * The page must also load the Socket.IO client script from the gateway that owns the room and
 * open a WebSocket to it. With STATIC_GATEWAYS those origins are known and listed exactly. With
 * the Redis scheduler gateways register themselves at run time and the API cannot know their
 * origins when it serves the page, so script-src and connect-src allow the http(s): and ws(s):
 * schemes. That is acceptable for this client: all user text is rendered with textContent (no
 * HTML injection point), and the protection that matters against XSS — no inline script, no
 * eval — stays. A deployment with fixed gateway hosts should set STATIC_GATEWAYS or put the
 * gateways behind one known origin.
 */
export function contentSecurityPolicy(config: Pick<AppConfig, 'staticGateways'>): string {
  let gateways: string[];
  if (config.staticGateways && config.staticGateways.length > 0) {
    const origins = [...new Set(config.staticGateways.map((g) => new URL(g.url).origin))];
    gateways = [...origins, ...origins.map((o) => o.replace(/^http/, 'ws'))];
  } else {
    gateways = ['http:', 'https:', 'ws:', 'wss:'];
  }
  return [
    "default-src 'none'",
    `script-src 'self' ${gateways.filter((g) => g.startsWith('http')).join(' ')}`,
    `connect-src 'self' ${gateways.join(' ')}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * Serves the web client at `/`, `/app.js` and `/app.css` only (express.static behind a path
 * filter, so it can never shadow an API route), with the CSP above. Mount before Nest's routes.
 */
export function webClient(config: Pick<AppConfig, 'staticGateways'>, root: string = webRoot()): RequestHandler {
  const csp = contentSecurityPolicy(config);
  const serve = express.static(root, {
    index: 'index.html',
    redirect: false,
    dotfiles: 'ignore',
    fallthrough: true,
    setHeaders(res) {
      res.setHeader('Content-Security-Policy', csp);
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.setHeader('Cache-Control', 'no-cache');
    },
  });
  return (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !SERVED.has(req.path)) return next();
    serve(req, res, next);
  };
}
