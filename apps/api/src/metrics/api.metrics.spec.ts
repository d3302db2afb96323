import type { Server } from 'node:http';
import express from 'express';
import { contentSecurityPolicy, webClient, webRoot, webRoute } from '../web/web-client';
import { ApiMetrics } from './api.metrics';

describe('ApiMetrics and the web client middleware', () => {
  let server: Server;
  let base: string;
  let metrics: ApiMetrics;

  beforeAll(async () => {
    metrics = new ApiMetrics(webRoute);
    const app = express();
    app.use(metrics.middleware());
    app.use(webClient({ staticGateways: undefined }));
    app.get('/rooms/:roomId', (_req, res) => {
      res.status(401).json({ error: { code: 'unauthorized', message: 'no' } });
    });
    await new Promise<void>((resolve) => {
      server = app.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('finds the built web app (dist/web) from the source tree and from dist/', () => {
    expect(webRoot()).toBe(`${process.cwd()}/dist/web`);
    expect(webRoot(`${process.cwd()}/dist/apps/api/src/web`)).toBe(webRoot());
  });

  it('labels requests by route template, static path or `unmatched`, never by raw path', async () => {
    await fetch(`${base}/rooms/abc-123`);
    await fetch(`${base}/rooms/def-456`);
    await fetch(`${base}/`);
    await fetch(`${base}/r/room-secret-1`);
    await fetch(`${base}/nope/secret-id`);
    const text = await metrics.registry.metrics();
    expect(text).toContain('http_requests_total{method="GET",route="/rooms/:roomId",status="401",app="api"} 2');
    expect(text).toContain('http_requests_total{method="GET",route="/",status="200",app="api"} 1');
    expect(text).toContain('http_requests_total{method="GET",route="unmatched",status="404",app="api"} 1');
    expect(text).toMatch(/^http_request_duration_seconds_count\{[^}]*route="\/rooms\/:roomId",status="401"[^}]*\} 2$/m);
    expect(text).toContain('http_requests_total{method="GET",route="/r/:roomId",status="200",app="api"} 1');
    expect(text).not.toMatch(/abc-123|secret-id|room-secret/);
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('serves the pages and the bundle with the CSP, and nothing else', async () => {
    const index = await (await fetch(`${base}/`)).text();
    expect(index).toContain('<script src="/app.js" defer></script>');
    for (const path of ['/', '/admin', '/r/0b9f3c1e-room', '/app.js', '/app.js.map', '/app.css']) {
      const res = await fetch(`${base}${path}`);
      expect([path, res.status]).toEqual([path, 200]);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self';");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      if (!path.startsWith('/app.')) expect([path, await res.text()]).toEqual([path, index]);
    }
    for (const path of ['/index.html', '/r/', '/r/a/b', '/admin/', '/admin/gateways', '/web/app.js', '/app.js/']) {
      expect([path, (await fetch(`${base}${path}`)).status]).toEqual([path, 404]);
    }
    expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(404);
  });

  it('lists exact gateway origins in the CSP when STATIC_GATEWAYS is set', () => {
    const csp = contentSecurityPolicy({ staticGateways: [{ id: 'gw-1', url: 'https://gw1.example.com:8443/base' }] });
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self' https://gw1.example.com:8443 wss://gw1.example.com:8443;");
    expect(contentSecurityPolicy({})).toContain("connect-src 'self' http: https: ws: wss:");
  });
});
