import { SearchIndexCleaner, type SearchIndexCleanerPorts } from './search-index.cleaner';

/** Ports whose merge answers only when the test says so. */
function ports() {
  let written = 0;
  const calls: Array<{ resolve: (pages: number | null) => void; reject: (err: Error) => void }> = [];
  const p: SearchIndexCleanerPorts = {
    eventsWritten: () => written,
    cleanPendingList: () => new Promise((resolve, reject) => calls.push({ resolve, reject })),
  };
  return { p, calls, write: (n = 1) => (written += n) };
}
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe(SearchIndexCleaner.name, () => {
  it('merges only after something was written since the last merge', async () => {
    const { p, calls, write } = ports();
    const cleaner = new SearchIndexCleaner(p);
    await cleaner.tick();
    expect(calls).toHaveLength(0); // nothing written: no query at all

    write(5);
    const first = cleaner.tick();
    expect(calls).toHaveLength(1);
    calls[0]!.resolve(3);
    await first;
    expect(cleaner.stats).toMatchObject({ runs: 1, pages: 3 });

    await cleaner.tick();
    expect(calls).toHaveLength(1); // still nothing new
    write();
    const second = cleaner.tick();
    calls[1]!.resolve(0);
    await second;
    expect(cleaner.stats).toMatchObject({ runs: 2, pages: 3 });
  });

  it('never runs two merges at once, and stop waits for the one in flight', async () => {
    const { p, calls, write } = ports();
    const cleaner = new SearchIndexCleaner(p);
    write();
    const running = cleaner.tick();
    write();
    await cleaner.tick(); // returns at once: a merge is in flight
    expect(calls).toHaveLength(1);

    let stopped = false;
    const stopping = cleaner.stop().then(() => (stopped = true));
    await turn();
    expect(stopped).toBe(false);
    calls[0]!.resolve(1);
    await running;
    await stopping;
    expect(stopped).toBe(true);
  });

  it('tries again next turn when another session holds the merge, and after a failure', async () => {
    const { p, calls, write } = ports();
    const cleaner = new SearchIndexCleaner(p);
    write();
    let tick = cleaner.tick();
    calls[0]!.resolve(null); // another gateway is merging
    await tick;
    expect(cleaner.stats).toMatchObject({ runs: 0, busy: 1 });

    tick = cleaner.tick(); // nothing new written, but this gateway's rows may not be merged yet
    expect(calls).toHaveLength(2);
    calls[1]!.reject(new Error('connection refused'));
    await tick;
    expect(cleaner.stats).toMatchObject({ runs: 0, failures: 1 });

    tick = cleaner.tick();
    expect(calls).toHaveLength(3);
    calls[2]!.resolve(7);
    await tick;
    expect(cleaner.stats).toMatchObject({ runs: 1, pages: 7, busy: 1, failures: 1 });
  });
});
