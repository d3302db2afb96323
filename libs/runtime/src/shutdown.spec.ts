import { judgeStopSignal, REPEATED_SIGNAL_WINDOW_MS } from './shutdown';

describe(judgeStopSignal.name, () => {
  const since = 1_000_000;

  it('starts the stop on the first signal', () => {
    expect(judgeStopSignal(undefined, since)).toBe('stop');
  });

  it('ignores the same request delivered again at once (process group, npm, supervisor)', () => {
    expect(judgeStopSignal(since, since)).toBe('repeat');
    expect(judgeStopSignal(since, since + REPEATED_SIGNAL_WINDOW_MS - 1)).toBe('repeat');
  });

  it('forces the exit when someone signals again during a long stop', () => {
    expect(judgeStopSignal(since, since + REPEATED_SIGNAL_WINDOW_MS)).toBe('force');
    expect(judgeStopSignal(since, since + 60_000)).toBe('force');
  });
});
