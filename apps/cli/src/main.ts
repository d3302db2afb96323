/**
 * Admin CLI: `npm run cli -- <command>`. Same configuration (environment) as the services.
 *   create-admin <username> <password>   create an admin, or promote and re-key an existing user
 * Errors print one line and exit non-zero.
 */
import { hashPassword } from '../../../libs/auth/src';
import { loadConfigOrExit } from '../../../libs/config/src';
import { DomainError, parseOrThrow, schemas } from '../../../libs/domain/src';
import { Database, UserRepository } from '../../../libs/persistence/src';

const USAGE = `usage: npm run cli -- <command>
  create-admin <username> <password>   create an admin user (or promote an existing one)`;

class UsageError extends Error {}

async function createAdmin(args: string[]): Promise<void> {
  if (args.length !== 2) throw new UsageError('create-admin needs <username> <password>');
  const [username, password] = parseCredentials(args[0]!, args[1]!);
  const config = loadConfigOrExit();
  const db = new Database(config.databaseUrl, { poolSize: 1, applicationName: 'cli' });
  try {
    const user = await new UserRepository(db).upsertAdmin(username, await hashPassword(password));
    console.log(`admin "${user.username}" ready (id ${user.id})`);
  } finally {
    await db.close();
  }
}

function parseCredentials(username: string, password: string): [string, string] {
  const parsed = parseOrThrow(schemas.register, { username, password });
  return [parsed.username, parsed.password];
}

const commands: Record<string, (args: string[]) => Promise<void>> = {
  'create-admin': createAdmin,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) throw new UsageError(`unknown command "${name}"`);
  await command(args);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n${USAGE}\n`);
      process.exit(2);
    }
    const message = err instanceof DomainError ? err.message : (err as Error).message;
    process.stderr.write(`error: ${message}\n`);
    process.exit(1);
  },
);
