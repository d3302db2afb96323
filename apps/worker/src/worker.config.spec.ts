import { ConfigError } from '../../../libs/config/src';
import { parseWorkerConfig } from './worker.config';

describe(parseWorkerConfig.name, () => {
  it('defaults the cold-room sweep to every 30 s', () => {
    expect(parseWorkerConfig({})).toEqual({ coldSnapshotSweepMs: 30_000 });
    expect(parseWorkerConfig({ COLD_SNAPSHOT_SWEEP_MS: '' })).toEqual({ coldSnapshotSweepMs: 30_000 });
  });

  it('accepts 0 (off) and 1000 ms to a day', () => {
    expect(parseWorkerConfig({ COLD_SNAPSHOT_SWEEP_MS: '0' }).coldSnapshotSweepMs).toBe(0);
    expect(parseWorkerConfig({ COLD_SNAPSHOT_SWEEP_MS: '1000' }).coldSnapshotSweepMs).toBe(1000);
    expect(parseWorkerConfig({ COLD_SNAPSHOT_SWEEP_MS: '86400000' }).coldSnapshotSweepMs).toBe(86_400_000);
  });

  it.each(['abc', '-5', '1.5', '999', '86400001', '30s'])('rejects %p with one line naming the variable', (value) => {
    let error: unknown;
    try {
      parseWorkerConfig({ COLD_SNAPSHOT_SWEEP_MS: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^invalid configuration: COLD_SNAPSHOT_SWEEP_MS: /);
    expect((error as Error).message).not.toContain('\n');
  });

  it('ignores the variables of the shared config', () => {
    expect(parseWorkerConfig({ PORT: 'not a port', COLD_SNAPSHOT_SWEEP_MS: '5000' })).toEqual({ coldSnapshotSweepMs: 5000 });
  });
});
