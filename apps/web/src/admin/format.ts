/**
 * Human-readable numbers for the admin view. Pure (no DOM), unit-tested in format.spec.ts.
 */

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/**
 * A byte count in binary units: `0 B`, `999 B`, `1.5 KiB`, `12 MiB`. One decimal below 10 of a
 * unit, none above (the digits an operator can compare at a glance); never `1024 KiB`.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes;
  let unit = -1;
  do {
    value /= 1024;
    unit += 1;
  } while (value >= 1024 && unit < BYTE_UNITS.length - 1);
  // Round first so that 1023.96 KiB becomes 1 MiB, not "1024 KiB".
  let rounded = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  if (rounded >= 1024 && unit < BYTE_UNITS.length - 1) {
    rounded = 1;
    unit += 1;
  }
  return `${rounded} ${BYTE_UNITS[unit]}`;
}

/** `1234567` → `1,234,567` (fixed en-US grouping, so tests and screenshots read the same everywhere). */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** How long ago `iso` was, coarse: `just now`, `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`. */
export function formatAge(iso: string, now: number): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '';
  const seconds = Math.max(0, Math.floor((now - then) / 1000));
  if (seconds < 2) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}
