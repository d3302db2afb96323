import type { Server } from 'node:http';
import { Logger } from '@nestjs/common';
import express from 'express';
import { createPinoLogger, PinoNestLogger } from '../../../../libs/runtime/src/logger';
import { jsonBody } from './json-body';
import { requestIdOf, requestLog } from './request-log.middleware';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe(requestIdOf.name, () => {
  it('keeps a sane incoming id', () => {
    expect(requestIdOf('4bf92f35-77b3-4da6-a3ce-929d0e0e4736')).toBe('4bf92f35-77b3-4da6-a3ce-929d0e0e4736');
    expect(requestIdOf('lb:1a2b3c/xyz+=')).toBe('lb:1a2b3c/xyz+=');
    expect(requestIdOf(['first', 'second'])).toBe('first');
  });

  it('replaces a missing, empty, over-long or odd one with a new UUID', () => {
    for (const bad of [undefined, '', 'x'.repeat(129), 'has space', 'quote"d', 'line\nbreak', 'ünïcode']) {
      expect(requestIdOf(bad)).toMatch(UUID);
    }
    expect(requestIdOf(undefined)).not.toBe(requestIdOf(undefined));
  });
});

describe(requestLog.name, () => {
  let server: Server;
  let base: string;
  const raw: string[] = [];
  const lines = () => raw.map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeAll(async () => {
    const pino = createPinoLogger({ format: 'json', level: 'debug' }, { app: 'api' }, { write: (line: string) => raw.push(line) });
    Logger.overrideLogger(new PinoNestLogger(pino));
    const app = express();
    app.use(requestLog());
    app.use(...jsonBody());
    app.post('/rooms/:roomId/things', async (req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      new Logger('RoomsService').log({ msg: 'handling', roomId: req.params.roomId });
      res.status(201).json({ ok: true });
    });
    app.get('/boom', (_req, res) => void res.status(503).json({}));
    app.get('/health/live', (_req, res) => void res.json({ status: 'ok' }));
    await new Promise<void>((resolve) => {
      server = app.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  afterAll(async () => {
    Logger.overrideLogger(new Logger());
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => raw.splice(0));

  /** Waits until the access line of the last request is written (after `finish`). */
  const settled = async (count: number) => {
    for (let i = 0; i < 100 && raw.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  };

  it('echoes a sane X-Request-Id and puts it on the lines logged while handling the request, and on its access line', async () => {
    const res = await fetch(`${base}/rooms/r-42/things?q=private+search+words`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'trace-abc' },
      body: JSON.stringify({ text: 'hello there' }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-request-id')).toBe('trace-abc');
    await settled(2);
    const [handling, access] = lines();
    expect(handling).toMatchObject({ msg: 'handling', requestId: 'trace-abc', roomId: 'r-42', context: 'RoomsService' });
    expect(access).toMatchObject({
      level: 'info',
      msg: 'POST /rooms/:roomId/things 201',
      requestId: 'trace-abc',
      method: 'POST',
      route: '/rooms/:roomId/things',
      status: 201,
      roomId: 'r-42',
      context: 'Http',
    });
    expect(typeof access!.durationMs).toBe('number');
    expect(raw.join('')).not.toMatch(/private|search words|hello there/);
  });

  it('generates an id when the caller sent none or an odd one, and logs 5xx at warn', async () => {
    const res = await fetch(`${base}/boom`, { headers: { 'x-request-id': 'no spaces allowed' } });
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(UUID);
    await settled(1);
    expect(lines()).toEqual([expect.objectContaining({ level: 'warn', requestId: id, route: '/boom', status: 503 })]);
  });

  it('logs probes at debug, so they stay out of an info log', async () => {
    await fetch(`${base}/health/live`);
    await settled(1);
    expect(lines()).toEqual([expect.objectContaining({ level: 'debug', route: '/health/live', status: 200 })]);
  });
});
