/**
 * Admin CLI: `npm run cli -- <command>`. Same configuration (environment) as the services; talks
 * to Postgres, Redis and S3 directly, not to the HTTP API.
 * Exit codes: 0 success, 1 failure (one line on stderr), 2 usage error.
 */
import './quiet-warnings';
import { DomainError } from '../../../libs/domain/src';
import { CliContext } from './cli-context';
import { CliError, UsageError } from './cli-errors';
import { createAdminCommand } from './commands/create-admin.command';
import { drainCommand } from './commands/drain.command';
import { exportCommand } from './commands/export.command';
import { gatewaysCommand } from './commands/gateways.command';
import { rebuildMembersCommand } from './commands/rebuild-members.command';

const USAGE = `usage: npm run cli -- <command>
  create-admin <username> <password>     create an admin user (or promote an existing one)
  gateways                               list gateways: id, status, rooms, connections, last seen
  drain <gatewayId> [--timeout SECONDS]  drain a gateway and wait until it is gone (default 300 s)
  export <roomId> [--out FILE] [--timeout SECONDS]
                                         export a room's log (gzip NDJSON) and download it
                                         (default FILE ./room-<roomId>.ndjson.gz)
  rebuild-members <roomId> | --all       rebuild the membership projection from the log
                                         (one room, or every room)`;

type Command = (args: string[], open: () => CliContext) => Promise<void>;

const commands: Record<string, Command> = {
  'create-admin': createAdminCommand,
  gateways: gatewaysCommand,
  drain: drainCommand,
  export: exportCommand,
  'rebuild-members': rebuildMembersCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? process.stdout : process.stderr).write(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) throw new UsageError(`unknown command "${name}"`);
  await command(args, () => new CliContext());
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n${USAGE}\n`);
      process.exit(2);
    }
    const message = err instanceof DomainError || err instanceof CliError ? err.message : describe(err);
    process.stderr.write(`error: ${message}\n`);
    process.exit(1);
  },
);

/** One line for an unexpected error (connection refused, S3 down…), without a stack trace. */
function describe(err: unknown): string {
  const e = err as { message?: string; code?: string; name?: string; errors?: Array<{ message?: string }> };
  const text = e?.message || e?.errors?.[0]?.message || e?.code || e?.name || String(err);
  return text.split('\n')[0]!;
}
