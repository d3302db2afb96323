import { Poller } from './poller';

describe('Poller', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** Lets the task's promise chain settle under fake timers. */
  const settle = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };

  it('runs at once and then every interval after each run, until stopped', async () => {
    let runs = 0;
    const poller = new Poller(async () => {
      runs += 1;
    }, 1000);
    poller.start();
    await settle();
    expect(runs).toBe(1);
    await jest.advanceTimersByTimeAsync(999);
    expect(runs).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(runs).toBe(2);
    await jest.advanceTimersByTimeAsync(3000);
    expect(runs).toBe(5);
    poller.stop();
    await jest.advanceTimersByTimeAsync(5000);
    expect(runs).toBe(5);
    expect(poller.running).toBe(false);
  });

  it('never overlaps runs: the next one is scheduled after a slow run has finished', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const poller = new Poller(async () => {
      runs += 1;
      active += 1;
      maxActive = Math.max(maxActive, active);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      active -= 1;
    }, 1000);
    poller.start();
    poller.start(); // idempotent
    await jest.advanceTimersByTimeAsync(2500 + 1000 + 2500 + 1000);
    expect(maxActive).toBe(1);
    expect(runs).toBe(3);
    poller.stop();
  });

  it('keeps polling after a failed run', async () => {
    let runs = 0;
    const poller = new Poller(async () => {
      runs += 1;
      throw new Error('down');
    }, 100);
    poller.start();
    await jest.advanceTimersByTimeAsync(250);
    expect(runs).toBe(3);
    poller.stop();
  });

  it('does not run twice when restarted while a run is in flight', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const poller = new Poller(async () => {
      runs += 1;
      await new Promise<void>((resolve) => (release = resolve));
    }, 100);
    poller.start();
    await settle();
    poller.stop();
    poller.start();
    await settle();
    expect(runs).toBe(1);
    release();
    await jest.advanceTimersByTimeAsync(100);
    expect(runs).toBe(2);
    poller.stop();
    release();
  });
});
