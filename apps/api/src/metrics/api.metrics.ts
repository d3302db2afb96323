import { performance } from 'node:perf_hooks';
import type { Request, RequestHandler } from 'express';
import { Counter, Histogram, type Registry } from 'prom-client';
import { createMetricsRegistry, DURATION_BUCKETS } from '../../../../libs/runtime/src/metrics';

/** Methods kept as label values; anything else is `other` (label cardinality stays bounded). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The API's metrics: default process metrics plus `http_requests_total` and
 * `http_request_duration_seconds` by method, route template (`/rooms/:roomId`, never the raw
 * path) and status. Recorded by an express middleware when the response finishes, so requests
 * that guards, the body parser or the static web client answer are counted too.
 */
export class ApiMetrics {
  readonly registry: Registry;
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'method' | 'route' | 'status'>;
  private readonly staticRoute: (path: string) => string | undefined;

  /** `staticRoute` names the route of a path that no Nest route answers (the web app's pages and files). */
  constructor(staticRoute: (path: string) => string | undefined = () => undefined) {
    this.registry = createMetricsRegistry({ app: 'api' });
    this.staticRoute = staticRoute;
    this.requests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration until the response finished, by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: DURATION_BUCKETS,
      registers: [this.registry],
    });
  }

  /** Mount before everything else: it only starts a clock and listens for `finish`. */
  middleware(): RequestHandler {
    return (req, res, next) => {
      const started = performance.now();
      res.once('finish', () => this.record(req, res.statusCode, (performance.now() - started) / 1000));
      next();
    };
  }

  record(req: Request, status: number, seconds: number): void {
    const labels = { method: METHODS.has(req.method) ? req.method : 'other', route: this.routeOf(req), status: String(status) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  }

  /** The matched route template; static web files by their path; everything else `unmatched`. */
  private routeOf(req: Request): string {
    return matchedRoute(req) ?? this.staticRoute(req.path) ?? 'unmatched';
  }
}

/** The route template that answered `req` (`/rooms/:roomId`), once routed; undefined when none matched. */
export function matchedRoute(req: Request): string | undefined {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  return route && typeof route.path === 'string' ? `${req.baseUrl ?? ''}${route.path}` : undefined;
}
