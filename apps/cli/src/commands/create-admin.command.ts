import { hashPassword } from '../../../../libs/auth/src';
import { parseOrThrow, schemas } from '../../../../libs/domain/src';
import { UserRepository } from '../../../../libs/persistence/src';
import { parseArgs } from '../args';
import type { CliContext } from '../cli-context';
import { UsageError } from '../cli-errors';

/** `create-admin <username> <password>`: creates an admin, or promotes and re-keys an existing user. */
export async function createAdminCommand(args: string[], open: () => CliContext): Promise<void> {
  const { positionals } = parseArgs('create-admin', args);
  if (positionals.length !== 2) throw new UsageError('create-admin needs <username> <password>');
  const { username, password } = parseOrThrow(schemas.register, { username: positionals[0], password: positionals[1] });
  const ctx = open();
  try {
    const user = await new UserRepository(ctx.db).upsertAdmin(username, await hashPassword(password));
    console.log(`admin "${user.username}" ready (id ${user.id})`);
  } finally {
    await ctx.close();
  }
}
