import { MembershipRepository } from '../../../../libs/persistence/src';
import { parseArgs } from '../args';
import type { CliContext } from '../cli-context';
import { CliError, UsageError } from '../cli-errors';

const ROOM_PAGE = 500;

/**
 * `rebuild-members <roomId> | --all`: rebuilds the membership projection (`room_members`) from
 * the rooms' logs (DESIGN.md invariant 11). Each room is rebuilt in its own transaction under
 * the room's row lock, so it is safe while gateways are writing: the room's appends wait for it.
 * Prints one line per room whose projection differed from its log (and was repaired), and a total.
 */
export async function rebuildMembersCommand(args: string[], open: () => CliContext): Promise<void> {
  const all = args.includes('--all');
  const { positionals } = parseArgs('rebuild-members', args.filter((a) => a !== '--all'));
  if (all ? positionals.length !== 0 : positionals.length !== 1) throw new UsageError('rebuild-members needs <roomId> or --all');
  const ctx = open();
  try {
    const membership = new MembershipRepository(ctx.db);
    let rooms = 0;
    let repaired = 0;
    const rebuildOne = async (roomId: string) => {
      const before = JSON.stringify(await membership.rowsOf(roomId));
      const result = await membership.rebuild(roomId);
      if (!result) throw new CliError(`no room ${roomId}`);
      rooms += 1;
      const changed = JSON.stringify(result.rows) !== before;
      if (changed) repaired += 1;
      if (changed || !all) console.log(`room ${roomId}: ${result.rows.length} rows at seq ${result.headSeq}${changed ? ' (repaired: it differed from the log)' : ''}`);
    };
    if (!all) {
      await rebuildOne(positionals[0]!);
    } else {
      for (let after: string | null = null; ; ) {
        const ids = await membership.roomIds(after, ROOM_PAGE);
        for (const id of ids) await rebuildOne(id);
        if (ids.length < ROOM_PAGE) break;
        after = ids[ids.length - 1]!;
      }
    }
    console.log(`rebuilt the membership of ${rooms} room(s); ${repaired} differed from the log`);
  } finally {
    await ctx.close();
  }
}
