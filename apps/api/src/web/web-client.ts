import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import express, { type RequestHandler } from 'express';
import type { AppConfig } from '../../../../libs/config/src';

/** The files of the built web app; everything else falls through to the API routes. */
export const WEB_FILES = ['/app.js', '/app.js.map', '/app.css'] as const;
/**
 * The app's pages: each answers the same index.html and the app routes in the browser. `/r/<id>`
 * is a room's shareable link (the id itself is checked by the API when the app asks for it).
 */
export const WEB_PAGES = ['/', '/admin', '/r/:roomId'] as const;
const FILES = new Set<string>(WEB_FILES);
const ROOM_LINK = /^\/r\/[^/]{1,200}$/;

/** The page route a path belongs to, or undefined when the web app does not answer it. */
export function webPage(path: string): (typeof WEB_PAGES)[number] | undefined {
  if (path === '/' || path === '/admin') return path;
  return ROOM_LINK.test(path) ? '/r/:roomId' : undefined;
}

/** The route label of a web app request (ApiMetrics): its page template or file, else undefined. */
export function webRoute(path: string): string | undefined {
  return FILES.has(path) ? path : webPage(path);
}

/**
 * The folder of the built web app: dist/web, written by `npm run build` (scripts/build-web.mjs
 * bundles apps/web). Found by walking up from this file, from apps/api/src/web/ (jest) and from
 * dist/apps/api/src/web/ (the build) alike.
 */
export function webRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = basename(dir) === 'dist' ? join(dir, 'web') : join(dir, 'dist', 'web');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`web app not built above ${from} (dist/web/index.html): run npm run build`);
  }
}

/**
 * Content-Security-Policy of the web client's responses. Inline scripts and styles, eval,
 * plugins, frames and foreign form targets are refused; the page only runs /app.js.
 *
 * The page's script is one bundle from this origin (socket.io-client included), so script-src is
 * 'self' alone. The page opens a WebSocket to the gateway that owns the room. With
 * STATIC_GATEWAYS those origins are known and listed exactly in connect-src. With the Redis
 * scheduler gateways register themselves at run time and the API cannot know their origins when
 * it serves the page, so connect-src allows the http(s): and ws(s): schemes. All user text is
 * rendered with textContent (no HTML injection point), and the protections that matter against
 * XSS, no inline script, no eval and no foreign script, stay.
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
    "script-src 'self'",
    `connect-src 'self' ${gateways.join(' ')}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * Serves the web app: its pages (`/`, `/admin`, `/r/<roomId>`: index.html) and its files
 * (`/app.js`, its source map, `/app.css`), with the CSP above, behind an exact path filter so it
 * can never shadow an API route. Mount before Nest's routes.
 */
export function webClient(config: Pick<AppConfig, 'staticGateways'>, root: string = webRoot()): RequestHandler {
  const csp = contentSecurityPolicy(config);
  const setHeaders = (res: express.Response) => {
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-cache');
  };
  const serve = express.static(root, { index: false, redirect: false, dotfiles: 'ignore', fallthrough: true, setHeaders });
  const indexHtml = join(root, 'index.html');
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (FILES.has(req.path)) return serve(req, res, next);
    if (webPage(req.path) === undefined) return next();
    setHeaders(res);
    res.type('html').sendFile(indexHtml, (err) => {
      if (err && !res.headersSent) next(err);
    });
  };
}
