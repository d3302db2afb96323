import { Logger } from '@nestjs/common';
import { addLogFields, createPinoLogger, PinoNestLogger, runWithLogFields, toLogRecord } from './logger';

/** A logger whose lines are parsed into `lines`, as a log shipper would read stdout. */
function capture(level: 'info' | 'debug' = 'info') {
  const raw: string[] = [];
  const pino = createPinoLogger({ format: 'json', level }, { app: 'gateway', gatewayId: 'gw-7' }, { write: (line: string) => raw.push(line) });
  return { nest: new PinoNestLogger(pino), raw, lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe(PinoNestLogger.name, () => {
  afterEach(() => Logger.overrideLogger(new Logger()));

  it("turns a Nest Logger call into one JSON line with the level's name, ISO time, message, context and the process's ids", () => {
    const { nest, raw, lines } = capture();
    Logger.overrideLogger(nest);
    new Logger('RoomRegistry').log('room r1 loaded');
    expect(raw).toHaveLength(1);
    expect(raw[0]!.endsWith('\n')).toBe(true);
    expect(raw[0]!.trimEnd()).not.toContain('\n');
    const [line] = lines();
    expect(line).toMatchObject({ level: 'info', msg: 'room r1 loaded', context: 'RoomRegistry', app: 'gateway', gatewayId: 'gw-7', pid: process.pid });
    expect(new Date(line!.time as string).toISOString()).toBe(line!.time);
  });

  it('spreads an object message into fields and blanks texts, passwords, tokens and tickets', () => {
    const { nest, lines } = capture();
    Logger.overrideLogger(nest);
    new Logger('RoomGateway').warn({ msg: 'send failed', roomId: 'r1', userId: 'u1', code: 'unavailable', text: 'secret words', payload: { ticket: 't', password: 'p' } });
    expect(lines()[0]).toEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'send failed',
        context: 'RoomGateway',
        roomId: 'r1',
        userId: 'u1',
        code: 'unavailable',
        text: '[redacted]',
        payload: { ticket: '[redacted]', password: '[redacted]' },
      }),
    );
    expect(JSON.stringify(lines())).not.toMatch(/secret words/);
  });

  it('writes nothing below the configured level, and maps verbose to trace', () => {
    const quiet = capture('info');
    quiet.nest.debug('not shown', 'Ctx');
    quiet.nest.verbose('not shown either', 'Ctx');
    expect(quiet.raw).toEqual([]);
    const chatty = capture('debug');
    chatty.nest.debug('shown', 'Ctx');
    expect(chatty.lines()).toEqual([expect.objectContaining({ level: 'debug', msg: 'shown' })]);
  });

  it('adds the fields of runWithLogFields to every line logged inside it, across awaits', async () => {
    const { nest, lines } = capture();
    await runWithLogFields({ requestId: 'req-1' }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      nest.log('inside', 'Api');
    });
    nest.log('outside', 'Api');
    expect(lines().map((l) => [l.msg, l.requestId])).toEqual([
      ['inside', 'req-1'],
      ['outside', undefined],
    ]);
  });

  it('lets code inside runWithLogFields add fields for the rest of it only (the authenticated user)', async () => {
    const { nest, lines } = capture();
    await runWithLogFields({ requestId: 'req-2' }, async () => {
      nest.log('before auth');
      addLogFields({ userId: 'u9' });
      await Promise.resolve();
      nest.log('after auth');
    });
    addLogFields({ userId: 'nobody' }); // outside any request: no effect
    nest.log('later');
    expect(lines().map((l) => [l.msg, l.requestId, l.userId])).toEqual([
      ['before auth', 'req-2', undefined],
      ['after auth', 'req-2', 'u9'],
      ['later', undefined, undefined],
    ]);
  });

  it('serialises an error passed to error() with its stack', () => {
    const { nest, lines } = capture();
    nest.error({ msg: 'command failed', err: new Error('boom') }, 'RoomGateway');
    const err = lines()[0]!.err as { message: string; stack: string; type: string };
    expect(err).toMatchObject({ type: 'Error', message: 'boom' });
    expect(err.stack).toMatch(/^Error: boom\n\s+at /);
  });
});

describe(toLogRecord.name, () => {
  it("takes the last string argument as the context, as Nest's Logger appends it", () => {
    expect(toLogRecord('hello', ['Api'])).toEqual({ fields: { context: 'Api' }, msg: 'hello' });
    expect(toLogRecord('hello', [])).toEqual({ fields: {}, msg: 'hello' });
  });

  it("reads Nest's error(message, stack, context) and error(message, undefined, context)", () => {
    const stack = 'Error: x\n    at f (file.js:1:1)';
    expect(toLogRecord('failed', [stack, 'Ctx'])).toEqual({ fields: { context: 'Ctx', stack }, msg: 'failed' });
    expect(toLogRecord('failed', [undefined, 'Ctx'])).toEqual({ fields: { context: 'Ctx' }, msg: 'failed' });
    expect(toLogRecord('failed', [stack])).toEqual({ fields: { stack }, msg: 'failed' });
  });

  it('uses an Error message as the text and keeps the error', () => {
    const err = new Error('down');
    expect(toLogRecord(err, ['Ctx'])).toEqual({ fields: { context: 'Ctx', err }, msg: 'down' });
  });
});
