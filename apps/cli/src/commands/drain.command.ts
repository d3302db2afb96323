import { parseArgs, secondsOption } from '../args';
import type { CliContext } from '../cli-context';
import { CliError, UsageError } from '../cli-errors';
import { sleep } from '../output';

/** Poll period of `drain`, ms. */
export const DRAIN_POLL_MS = 500;
/** Default bound on the wait, seconds (`--timeout`). */
export const DRAIN_DEFAULT_TIMEOUT_S = 300;

/**
 * `drain <gatewayId> [--timeout SECONDS]`: asks the gateway to drain (the same request as
 * `POST /admin/gateways/:id/drain`), then waits until it is `gone` with 0 rooms, printing
 * progress whenever it changes.
 */
export async function drainCommand(args: string[], open: () => CliContext): Promise<void> {
  const parsed = parseArgs('drain', args, ['timeout']);
  if (parsed.positionals.length !== 1) throw new UsageError('drain needs <gatewayId>');
  const id = parsed.positionals[0]!;
  const timeoutS = secondsOption('drain', parsed, 'timeout', DRAIN_DEFAULT_TIMEOUT_S);
  const ctx = open();
  try {
    const registry = ctx.gateways;
    const gateway = await registry.get(id);
    if (!gateway) throw new CliError(`no gateway "${id}" (see: npm run cli -- gateways)`);
    if (gateway.status === 'gone') {
      console.log(`${id} is already gone (0 rooms)`);
      return;
    }
    if (gateway.status === 'active') await registry.requestDrain(id);
    const started = Date.now();
    const deadline = started + timeoutS * 1000;
    let last = '';
    for (;;) {
      const now = await registry.get(id);
      if (!now || (now.status === 'gone' && now.rooms === 0)) break;
      const line = `draining ${id}: ${now.rooms} room(s) left`;
      if (line !== last) {
        process.stderr.write(`${line}\n`);
        last = line;
      }
      if (Date.now() >= deadline) {
        throw new CliError(`${id} still ${now.status} with ${now.rooms} room(s) after ${timeoutS}s (it keeps draining; run drain again to keep waiting)`);
      }
      await sleep(DRAIN_POLL_MS);
    }
    console.log(`${id} drained: gone, 0 rooms (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } finally {
    await ctx.close();
  }
}
