import { AsyncLocalStorage } from 'node:async_hooks';
import { hostname } from 'node:os';
import { Logger, type LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Level, type Logger as Pino } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat, LogLevel } from '../../config/src';

/**
 * Process logs through pino behind Nest's `LoggerService`, so every existing `new Logger(ctx)`
 * and `Logger.log(msg, ctx)` call writes structured lines: one JSON object a line in `json`
 * format (production), pino-pretty's one-line rendering in `pretty` format (`npm start`).
 *
 * What a line is about goes in fields, not in the text: pass an object with `msg` and the ids
 * (`logger.warn({ msg: 'send failed', roomId, userId, code })`). Never log message texts,
 * passwords, tokens or tickets; `REDACTED_KEYS` blanks them should one slip into a field.
 */

/** Fields of a log line: ids and outcomes, never user content or secrets. */
export type LogFields = Record<string, unknown>;

export interface LogSettings {
  format: LogFormat;
  level: LogLevel;
}

/** Field names whose values never reach a log line, at the top level or one object down. */
const REDACTED_KEYS = ['text', 'password', 'token', 'ticket', 'authorization', 'cookie'];

const context = new AsyncLocalStorage<LogFields>();

/**
 * Runs `fn` with `fields` added to every line logged within it, across awaits (the API's
 * request id). Nested calls add to the outer fields.
 */
export function runWithLogFields<T>(fields: LogFields, fn: () => T): T {
  return context.run({ ...context.getStore(), ...fields }, fn);
}

/**
 * Adds `fields` to the lines still to come inside the current `runWithLogFields` (e.g. the user
 * once a request is authenticated); nothing outside one.
 */
export function addLogFields(fields: LogFields): void {
  const store = context.getStore();
  if (store) Object.assign(store, fields);
}

/**
 * A pino logger with the process's `bindings` (e.g. `{app: 'gateway', gatewayId}`) on every
 * line, ISO `time`, the level as its name and the fields of `runWithLogFields`. Writes
 * synchronously to stdout (or `destination`), so the last lines before an exit are not lost.
 */
export function createPinoLogger(settings: LogSettings, bindings: LogFields, destination?: DestinationStream): Pino {
  return pino(
    {
      level: settings.level,
      base: { pid: process.pid, hostname: hostname(), ...bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: () => context.getStore() ?? {},
      redact: { paths: REDACTED_KEYS.flatMap((key) => [key, `*.${key}`]), censor: '[redacted]' },
    },
    destination ?? stdoutFor(settings.format),
  );
}

function stdoutFor(format: LogFormat): DestinationStream {
  if (format === 'json') return pino.destination({ dest: 1, sync: true });
  // One line per entry, as Nest's console logger printed them; `npm start` prefixes the process
  // name, so the process-wide fields are left out and only the line's own ids are appended.
  return pretty({
    sync: true,
    colorize: Boolean(process.stdout.isTTY),
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,app,gatewayId,context',
    messageFormat: '{if context}[{context}] {end}{msg}',
  });
}

type NestLevel = 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';

const PINO_LEVEL: Record<NestLevel, Level> = {
  log: 'info',
  error: 'error',
  warn: 'warn',
  debug: 'debug',
  verbose: 'trace',
  fatal: 'fatal',
};

/** A stack trace passed as a string (Nest's `error(message, stack, context)`). */
const looksLikeStack = (value: string) => /\n\s+at /.test(value);

const isPlainObject = (value: unknown): value is LogFields =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

/**
 * A Nest logger call as pino's `(fields, msg)`. Nest appends the `Logger` instance's context as
 * the last string argument; an object message gives its `msg` and adds its other keys as fields;
 * an `Error` or a stack string becomes `err` / `stack`.
 */
export function toLogRecord(message: unknown, params: unknown[]): { fields: LogFields; msg: string } {
  const rest = [...params];
  const fields: LogFields = {};
  const last = rest[rest.length - 1];
  if (typeof last === 'string' && !looksLikeStack(last)) fields.context = rest.pop();
  let msg: string;
  if (message instanceof Error) {
    fields.err = message;
    msg = message.message;
  } else if (isPlainObject(message)) {
    const { msg: text, ...own } = message;
    Object.assign(fields, own);
    msg = typeof text === 'string' ? text : '';
  } else {
    msg = String(message);
  }
  for (const param of rest) {
    if (param instanceof Error) fields.err = param;
    else if (typeof param === 'string' && looksLikeStack(param)) fields.stack = param;
    else if (isPlainObject(param)) Object.assign(fields, param);
    else if (param !== undefined) fields.details = [...((fields.details as unknown[]) ?? []), param];
  }
  return { fields, msg };
}

/** Nest's `LoggerService` over a pino logger. */
export class PinoNestLogger implements LoggerService {
  constructor(readonly pino: Pino) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('log', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('verbose', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: NestLevel, message: unknown, params: unknown[]): void {
    const pinoLevel = PINO_LEVEL[level];
    if (!this.pino.isLevelEnabled(pinoLevel)) return;
    const { fields, msg } = toLogRecord(message, params);
    this.pino[pinoLevel](fields, msg);
  }
}

/**
 * Makes the process log through pino with `settings`: Nest's static `Logger` (and so every
 * `new Logger(ctx)`) and Node's process warnings, which would otherwise be printed to stderr
 * as text between the JSON lines. Returns the logger for `NestFactory.create(…, { logger })`.
 */
export function installProcessLogger(settings: LogSettings, bindings: LogFields): PinoNestLogger {
  const logger = new PinoNestLogger(createPinoLogger(settings, bindings));
  Logger.overrideLogger(logger);
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    logger.pino.warn({ context: 'process', warning: warning.name, code: warning.code }, warning.message);
  });
  return logger;
}
