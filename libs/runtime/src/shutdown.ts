import { type INestApplicationContext, Logger } from '@nestjs/common';

type ClosableApp = INestApplicationContext & { close(signal?: string): Promise<void> };

/**
 * Graceful stop on the given signals: close the app (its shutdown hooks drain gateways, finish
 * jobs, close connections) and exit 0, so supervisors and `npm start` see a clean stop. Used
 * instead of Nest's enableShutdownHooks, which re-raises the signal after closing. A second
 * signal exits at once with 1.
 */
export function exitCleanlyOn(app: ClosableApp, signals: NodeJS.Signals[]): void {
  let stopping = false;
  for (const signal of signals) {
    process.on(signal, () => {
      if (stopping) process.exit(1);
      stopping = true;
      Logger.log(`${signal}: shutting down`, 'Shutdown');
      app.close(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          process.stderr.write(`shutdown failed: ${(err as Error).stack ?? String(err)}\n`);
          process.exit(1);
        },
      );
    });
  }
}
