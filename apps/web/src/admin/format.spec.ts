import { formatAge, formatBytes, formatCount } from './format';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [1536, '1.5 KiB'],
    [10 * 1024, '10 KiB'],
    [10.4 * 1024, '10 KiB'],
    [1024 * 1024 - 1, '1 MiB'],
    [5.25 * 1024 * 1024, '5.3 MiB'],
    [3 * 1024 ** 3, '3 GiB'],
    [2048 * 1024 ** 4, '2048 TiB'],
  ])('%d bytes is %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('shows a dash for values that are not byte counts', () => {
    expect(formatBytes(-1)).toBe('–');
    expect(formatBytes(Number.NaN)).toBe('–');
  });
});

describe('formatCount', () => {
  it('groups thousands', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(200000)).toBe('200,000');
  });
});

describe('formatAge', () => {
  const now = Date.parse('2026-11-27T12:00:00Z');
  it.each([
    ['2026-11-27T12:00:00Z', 'just now'],
    ['2026-11-27T12:00:01Z', 'just now'], // a clock slightly ahead never shows a negative age
    ['2026-11-27T11:59:48Z', '12 s ago'],
    ['2026-11-27T11:55:00Z', '5 min ago'],
    ['2026-11-27T09:00:00Z', '3 h ago'],
    ['2026-11-25T11:00:00Z', '2 d ago'],
  ])('%s is %s', (iso, text) => {
    expect(formatAge(iso, now)).toBe(text);
  });

  it('is empty for a malformed time', () => {
    expect(formatAge('not a time', now)).toBe('');
  });
});
