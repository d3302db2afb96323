import { notReadyReason } from './health.controller';

describe(notReadyReason.name, () => {
  it('is ready (null) when the gate is open and both dependencies answer', () => {
    expect(notReadyReason({ gate: null, postgres: true, redis: true })).toBeNull();
  });

  it('names each dependency that did not answer', () => {
    expect(notReadyReason({ gate: null, postgres: false, redis: true })).toBe('postgres unreachable');
    expect(notReadyReason({ gate: null, postgres: true, redis: false })).toBe('redis unreachable');
    expect(notReadyReason({ gate: null, postgres: false, redis: false })).toBe('postgres, redis unreachable');
  });

  it("puts the process's own gate (a draining gateway) before its dependencies", () => {
    expect(notReadyReason({ gate: 'draining', postgres: true, redis: true })).toBe('draining');
    expect(notReadyReason({ gate: 'draining', postgres: false, redis: false })).toBe('draining');
  });
});
