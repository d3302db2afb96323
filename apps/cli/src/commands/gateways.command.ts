import { parseArgs } from '../args';
import type { CliContext } from '../cli-context';
import { UsageError } from '../cli-errors';
import { formatTable } from '../output';

/** `gateways`: every known gateway, live or gone, as the admin directory shows them. */
export async function gatewaysCommand(args: string[], open: () => CliContext): Promise<void> {
  const { positionals } = parseArgs('gateways', args);
  if (positionals.length > 0) throw new UsageError('gateways takes no arguments');
  const ctx = open();
  try {
    const gateways = await ctx.gateways.list();
    if (gateways.length === 0) {
      console.log('no gateways registered');
      return;
    }
    const rows = gateways.map((gw) => [gw.id, gw.status, String(gw.rooms), String(gw.connections), gw.lastSeenAt ?? '-']);
    console.log(formatTable(['ID', 'STATUS', 'ROOMS', 'CONNECTIONS', 'LAST SEEN'], rows));
  } finally {
    await ctx.close();
  }
}
