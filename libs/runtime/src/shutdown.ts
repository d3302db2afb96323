import type { Server } from 'node:http';
import { type INestApplicationContext, Logger } from '@nestjs/common';
import { closeConnectionsOnServerClose } from './http-connections';

type ClosableApp = INestApplicationContext & { close(signal?: string): Promise<void>; getHttpServer?(): Server };

/**
 * A signal that comes again within this time of the first one is the same stop request (ms).
 * Ctrl-C in a terminal signals the whole process group, and npm and the supervisor pass the
 * signal on once more, so a process of `npm start` gets SIGINT two or three times at once.
 */
export const REPEATED_SIGNAL_WINDOW_MS = 1_000;

/**
 * What a stop signal means: `stop` (the first one), `repeat` (the same request delivered again,
 * ignored) or `force` (someone insists during a long stop: exit at once).
 */
export function judgeStopSignal(stoppingSince: number | undefined, now: number): 'stop' | 'repeat' | 'force' {
  if (stoppingSince === undefined) return 'stop';
  return now - stoppingSince < REPEATED_SIGNAL_WINDOW_MS ? 'repeat' : 'force';
}

/**
 * Graceful stop on the given signals: close the app and exit 0, so supervisors and `npm start`
 * see a clean stop. Closing runs the shutdown hooks (gateways drain, jobs finish, connections
 * close). Used instead of Nest's enableShutdownHooks, which re-raises the signal after closing.
 * An app with an HTTP server also closes the connections that clients keep open
 * (closeConnectionsOnServerClose). The same signal again within REPEATED_SIGNAL_WINDOW_MS is
 * ignored; a later one exits at once with 1.
 */
export function exitCleanlyOn(app: ClosableApp, signals: NodeJS.Signals[]): void {
  const server = app.getHttpServer?.();
  if (server) closeConnectionsOnServerClose(server);
  let stoppingSince: number | undefined;
  for (const signal of signals) {
    process.on(signal, () => {
      const verdict = judgeStopSignal(stoppingSince, Date.now());
      if (verdict === 'repeat') return;
      if (verdict === 'force') {
        Logger.warn(`${signal} again while stopping: exiting at once`, 'Shutdown');
        process.exit(1);
      }
      stoppingSince = Date.now();
      Logger.log(`${signal}: shutting down`, 'Shutdown');
      app.close(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          Logger.error({ msg: 'shutdown failed', err }, 'Shutdown');
          process.exit(1);
        },
      );
    });
  }
}
