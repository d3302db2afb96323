import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './processes';

/** Where the fault and benchmark suites append their measured figures, one JSON object a line. */
export const FIGURES_FILE = join(ROOT, 'bench-results', 'figures.jsonl');

/**
 * Reports a measured figure: one clearly labelled console line (`[figure] …`) and one JSON line
 * in bench-results/figures.jsonl. Figures are reported, never asserted: this machine's timing
 * is not a test oracle.
 */
export function reportFigure(suite: string, name: string, value: number, unit: string, details: Record<string, unknown> = {}): void {
  const rounded = Math.round(value * 1000) / 1000;
  const extra = Object.keys(details).length > 0 ? ` ${JSON.stringify(details)}` : '';
  console.log(`[figure] ${suite}: ${name} = ${rounded} ${unit}${extra}`);
  try {
    mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
    appendFileSync(FIGURES_FILE, `${JSON.stringify({ suite, name, value: rounded, unit, at: new Date().toISOString(), ...details })}\n`);
  } catch (err) {
    console.log(`[figure] could not append to ${FIGURES_FILE}: ${(err as Error).message}`);
  }
}
