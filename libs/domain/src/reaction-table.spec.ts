import { ReactionTable } from './reaction-table';

/** The nested Maps the table replaced: the reference its order and answers must match. */
class ModelReactions {
  readonly bySeq = new Map<number, Map<string, string[]>>();
  add(seq: number, emoji: string, user: string): boolean {
    let byEmoji = this.bySeq.get(seq);
    if (!byEmoji) this.bySeq.set(seq, (byEmoji = new Map()));
    const users = byEmoji.get(emoji);
    if (!users) {
      byEmoji.set(emoji, [user]);
      return true;
    }
    if (users.includes(user)) return false;
    users.push(user);
    return true;
  }
  remove(seq: number, emoji: string, user: string): boolean {
    const byEmoji = this.bySeq.get(seq);
    const users = byEmoji?.get(emoji);
    const at = users?.indexOf(user) ?? -1;
    if (!byEmoji || !users || at < 0) return false;
    users.splice(at, 1);
    if (users.length === 0) byEmoji.delete(emoji);
    if (byEmoji.size === 0) this.bySeq.delete(seq);
    return true;
  }
}

const entries = (table: ReactionTable) => {
  const out: Array<[number, Array<[string, string[]]>]> = [];
  table.forEach((seq, byEmoji) => out.push([seq, [...byEmoji]]));
  return out;
};
const modelEntries = (model: ModelReactions) => [...model.bySeq].map(([seq, byEmoji]) => [seq, [...byEmoji].map(([e, u]) => [e, [...u]])]);

describe(ReactionTable.name, () => {
  it('keeps the order of the nested Maps it replaced: emoji by first reaction, users by time', () => {
    const table = new ReactionTable();
    table.add(7, '👍', 'ann');
    table.add(7, ':tada:', 'bob');
    table.add(7, '👍', 'cid');
    table.add(3, '🔥', 'ann');
    // Removing the first user of an emoji keeps the emoji in its place.
    expect(table.remove(7, '👍', 'ann')).toBe(true);
    expect(table.get(7)).toEqual(new Map([['👍', ['cid']], [':tada:', ['bob']]]));
    expect([...table.get(7)!.keys()]).toEqual(['👍', ':tada:']);
    // An emoji whose last user left goes, and comes back at the end.
    table.remove(7, '👍', 'cid');
    table.add(7, '👍', 'ann');
    expect([...table.get(7)!.keys()]).toEqual([':tada:', '👍']);
    expect(entries(table).map(([seq]) => seq)).toEqual([7, 3]);
  });

  it('answers has, counts, duplicate adds and absent removals', () => {
    const table = new ReactionTable();
    expect(table.add(1, '👍', 'ann')).toBe(true);
    expect(table.add(1, '👍', 'ann')).toBe(false);
    expect(table.add(1, '🔥', 'ann')).toBe(true);
    expect(table.add(1, '🔥', 'bob')).toBe(true);
    expect(table.has(1, '🔥', 'bob')).toBe(true);
    expect(table.has(1, '👍', 'bob')).toBe(false);
    expect(table.has(2, '👍', 'ann')).toBe(false);
    expect(table.has(1, '👍', 'nobody')).toBe(false);
    expect(table.counts(1, 'ann')).toEqual({ total: 3, byUser: 2 });
    expect(table.counts(1, 'nobody')).toEqual({ total: 3, byUser: 0 });
    expect(table.counts(9, 'ann')).toEqual({ total: 0, byUser: 0 });
    expect(table.remove(1, '👍', 'bob')).toBe(false);
    expect(table.remove(1, '😀', 'ann')).toBe(false);
    expect(table.remove(2, '👍', 'ann')).toBe(false);
    expect(table.messages).toBe(1);
  });

  it('matches the nested Maps under random churn, and frees every node and string it no longer needs', () => {
    let seed = 7;
    const random = (n: number) => Math.floor(((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * n);
    const table = new ReactionTable();
    const model = new ModelReactions();
    const emoji = ['👍', '🔥', ':tada:', '😀', ':+1:'];
    for (let step = 0; step < 30_000; step++) {
      const seq = random(40);
      const e = emoji[random(emoji.length)]!;
      const user = `u${random(12)}`;
      const op = random(10);
      if (op < 5) expect(table.add(seq, e, user)).toBe(model.add(seq, e, user));
      else if (op < 9) expect(table.remove(seq, e, user)).toBe(model.remove(seq, e, user));
      else {
        table.clear(seq);
        model.bySeq.delete(seq);
      }
      if (step % 1_000 === 0) expect(entries(table)).toEqual(modelEntries(model));
    }
    expect(entries(table)).toEqual(modelEntries(model));
    for (const seq of [...model.bySeq.keys()]) {
      for (const [e, users] of model.bySeq.get(seq)!) {
        for (const user of users) {
          expect(table.has(seq, e, user)).toBe(true);
          expect(table.counts(seq, user).total).toBe([...model.bySeq.get(seq)!.values()].reduce((n, u) => n + u.length, 0));
        }
      }
      table.clear(seq);
    }
    expect(table.messages).toBe(0);
    expect(table.nodes).toBe(0);
    expect(table.internedStrings).toBe(0);
  });

  it('exports the same reactions, in the same order, as flat columns', () => {
    const table = new ReactionTable();
    table.add(9, '👍', 'ann');
    table.add(9, '🔥', 'bob');
    table.add(9, '👍', 'cid');
    table.add(2, ':tada:', 'ann');
    table.add(5, '😀', 'dan');
    table.remove(5, '😀', 'dan');
    const c = table.columns();
    const rebuilt: Array<[number, Array<[string, string[]]>]> = [];
    let e = 0;
    let u = 0;
    c.seqs.forEach((seq, m) => {
      const byEmoji: Array<[string, string[]]> = [];
      for (let k = 0; k < c.emojiCounts[m]!; k++, e++) {
        byEmoji.push([c.strings[c.emoji[e]!]!, Array.from({ length: c.userCounts[e]! }, () => c.strings[c.users[u++]!]!)]);
      }
      rebuilt.push([seq, byEmoji]);
    });
    expect(rebuilt).toEqual(entries(table));
    expect(rebuilt).toEqual([
      [9, [['👍', ['ann', 'cid']], ['🔥', ['bob']]]],
      [2, [[':tada:', ['ann']]]],
    ]);
    expect([e, u]).toEqual([c.emoji.length, c.users.length]);
  });

  it('reuses freed nodes: a steady churn does not grow the pool', () => {
    const table = new ReactionTable();
    const pool = () => (table as unknown as { label: Int32Array }).label.length;
    for (let seq = 0; seq < 100; seq++) table.add(seq, '👍', 'ann');
    const size = pool();
    for (let seq = 100; seq < 10_000; seq++) {
      table.add(seq, '👍', 'ann');
      table.clear(seq - 100);
    }
    expect(table.nodes).toBe(200);
    expect(pool()).toBe(size);
  });
});
