/**
 * Scenario 8 of the comparison bench (issue 9): the long-life soak is its own run (`npm run bench
 * -- soak`, bench/soak-main.ts, tens of minutes), so this scenario does not repeat it: it puts the
 * newest soak report of bench-results/ into the table, with its age, or says how to make one.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../test/support/processes';
import type { CompareScenario } from './compare-scenarios';
import type { Figure } from './lib';

export function newestSoakReport(dir: string): { file: string; report: { figures?: Figure[]; startedAt?: string; git?: { commit?: string } } } | undefined {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^soak-.*\.json$/.test(n));
  } catch {
    return undefined;
  }
  const newest = names.map((n) => ({ n, at: statSync(join(dir, n)).mtimeMs })).sort((a, b) => b.at - a.at)[0];
  if (!newest) return undefined;
  return { file: newest.n, report: JSON.parse(readFileSync(join(dir, newest.n), 'utf8')) };
}

export const soakReference: CompareScenario = {
  id: 'soak',
  title: '8. the long-life soak (npm run bench -- soak): the newest report in bench-results/, not re-run here',
  async run() {
    const found = newestSoakReport(join(ROOT, 'bench-results'));
    if (!found) {
      return { figures: [{ scenario: '8 soak', name: 'no soak report in bench-results/', value: NaN, unit: '', note: 'run `npm run bench -- soak` (tens of minutes) and run this scenario again', details: {} }], raw: {} };
    }
    const from = `${found.file}, ${found.report.startedAt ?? '?'}, commit ${(found.report.git?.commit ?? '?').slice(0, 8)}`;
    const figures = (found.report.figures ?? []).map((f) => ({ ...f, scenario: '8 soak', note: `${f.note ?? ''} [${from}]`.trim() }));
    return { figures, raw: { file: found.file } };
  },
};
