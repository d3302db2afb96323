import { parseArgs, secondsOption } from './args';
import { UsageError } from './cli-errors';
import { formatTable, ProgressBar } from './output';
import { createAdminCommand } from './commands/create-admin.command';
import { expectDomainError } from '../../../libs/domain/src/testing/expect-domain-error';

describe(parseArgs.name, () => {
  it('splits positionals and --name value / --name=value options', () => {
    const parsed = parseArgs('export', ['room-1', '--out', 'a.gz', '--timeout=30'], ['out', 'timeout']);
    expect(parsed.positionals).toEqual(['room-1']);
    expect(Object.fromEntries(parsed.options)).toEqual({ out: 'a.gz', timeout: '30' });
  });

  it.each([
    [['--nope', 'x']],
    [['--out']],
    [['--out=']],
    [['--out', 'a', '--out', 'b']],
  ])('rejects %p as a usage error', (args) => {
    expect(() => parseArgs('export', args, ['out'])).toThrow(UsageError);
  });

  it('takes everything after -- as positionals', () => {
    expect(parseArgs('x', ['--', '--out']).positionals).toEqual(['--out']);
  });
});

describe(secondsOption.name, () => {
  it('returns the fallback when absent and the value when valid', () => {
    expect(secondsOption('drain', parseArgs('drain', []), 'timeout', 300)).toBe(300);
    expect(secondsOption('drain', parseArgs('drain', ['--timeout', '2.5'], ['timeout']), 'timeout', 300)).toBe(2.5);
  });

  it.each(['0', '-1', 'soon'])('rejects %p', (value) => {
    expect(() => secondsOption('drain', parseArgs('drain', ['--timeout', value], ['timeout']), 'timeout', 300)).toThrow(UsageError);
  });
});

describe(formatTable.name, () => {
  it('aligns columns under their headers', () => {
    expect(formatTable(['ID', 'STATUS'], [['gw-1', 'active'], ['gateway-22', 'gone']])).toBe(
      ['ID          STATUS', 'gw-1        active', 'gateway-22  gone'].join('\n'),
    );
  });
});

describe(ProgressBar.name, () => {
  function sink(isTTY: boolean): { out: NodeJS.WriteStream; text: () => string } {
    let written = '';
    const out = { isTTY, write: (chunk: string) => ((written += chunk), true) } as unknown as NodeJS.WriteStream;
    return { out, text: () => written };
  }

  it('prints one line per 10 % step when not on a terminal', () => {
    const { out, text } = sink(false);
    const bar = new ProgressBar(out, 200, 'events', 10);
    for (const done of [0, 5, 20, 21, 100, 200]) bar.update(done);
    bar.finish();
    expect(text().split('\n').filter(Boolean)).toEqual([
      '[..........]   0% 0/200 events',
      '[#.........]  10% 20/200 events',
      '[#####.....]  50% 100/200 events',
      '[##########] 100% 200/200 events',
    ]);
  });

  it('redraws in place on a terminal and ends the line on finish', () => {
    const { out, text } = sink(true);
    const bar = new ProgressBar(out, 4, 'events', 4);
    bar.update(1);
    bar.update(4);
    bar.finish();
    expect(text()).toBe('\r[#...]  25% 1/4 events\r[####] 100% 4/4 events\n');
  });
});

describe(createAdminCommand.name, () => {
  it.each([
    ['a username with U+0000', ['ad\u0000min', 'correct horse']],
    ['a password with U+0000', ['admin', 'correct\u0000horse']],
    ['a password with a lone surrogate', ['admin', 'correct horse \ud800']],
  ])('refuses %s before it opens a connection', async (_label, args) => {
    const open = jest.fn();
    const failure = await createAdminCommand(args, open).then(
      () => undefined,
      (err: unknown) => err,
    );
    expectDomainError('invalid', () => {
      throw failure;
    });
    expect(open).not.toHaveBeenCalled();
  });
});
