import type { Figure } from './lib';

/** The console table: one row per figure, failed scenarios as one row each. */
export function renderTable(results: Array<{ id: string; ok: boolean; error?: string; figures: Figure[] }>): string {
  const rows: string[][] = [];
  for (const r of results) {
    if (!r.ok) {
      rows.push([r.id, 'FAILED', '', '', (r.error ?? '').slice(0, 100)]);
      continue;
    }
    for (const f of r.figures) rows.push([f.scenario, f.name, formatValue(f.value), f.unit, f.note ?? '']);
  }
  const header = ['scenario', 'figure', 'value', 'unit', 'notes'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 2 ? c.padStart(widths[i]!) : i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return String(Math.round(value));
  return String(Math.round(value * 100) / 100);
}
