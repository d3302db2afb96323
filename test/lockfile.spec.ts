/**
 * Issue 7, acceptance 6: a test fails if package-lock.json loses another platform's optional
 * package again (npm/cli#4828), since `npm ci` then refuses the lockfile everywhere. Runs
 * scripts/check-lockfile.mjs as CI and a developer would, on the committed lockfile and on
 * damaged copies of it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './support/processes';

const SCRIPT = join(ROOT, 'scripts', 'check-lockfile.mjs');

type LockEntry = { version?: string; integrity?: string; optionalDependencies?: Record<string, string> };
type Lockfile = { lockfileVersion: number; packages: Record<string, LockEntry> };

function check(path?: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, path ? [SCRIPT, path] : [SCRIPT], { cwd: ROOT, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const committed = (): Lockfile => JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as Lockfile;

/** An optional package of a platform other than this one's, as `node_modules/<name>` with its name. */
function otherPlatformPackage(lock: Lockfile): { key: string; name: string } {
  for (const entry of Object.values(lock.packages)) {
    for (const name of Object.keys(entry.optionalDependencies ?? {})) {
      const key = `node_modules/${name}`;
      const locked = lock.packages[key] as (LockEntry & { os?: string[] }) | undefined;
      if (locked?.os && !locked.os.includes(process.platform)) return { key, name };
    }
  }
  throw new Error('the lockfile holds no optional package of another platform at the top level');
}

describe('package-lock.json', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'durable-rooms-lockfile-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function damagedCopy(damage: (lock: Lockfile) => void): string {
    const lock = committed();
    damage(lock);
    const path = join(dir, `package-lock-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, JSON.stringify(lock, null, 2));
    return path;
  }

  it("holds every platform's optional packages (what `npm ci` needs on Linux, macOS and Windows)", () => {
    const result = check();
    expect(result.output).toMatch(/^lockfile: ok, \d+ optional package/);
    expect(result.status).toBe(0);
  });

  it('the check fails when one platform binary is missing from a copy', () => {
    const { key, name } = otherPlatformPackage(committed());
    const result = check(damagedCopy((lock) => delete lock.packages[key]));
    expect(result.status).toBe(1);
    expect(result.output).toContain(`${name}@`);
    expect(result.output).toContain('has no node_modules entry');
  });

  it('the check fails when a locked optional package has no integrity hash', () => {
    const { key } = otherPlatformPackage(committed());
    const result = check(damagedCopy((lock) => delete lock.packages[key]!.integrity));
    expect(result.status).toBe(1);
    expect(result.output).toContain(`${key} (optional dependency of`);
    expect(result.output).toContain('lacks integrity');
  });

  it('the check fails when a locked optional package is another version than declared', () => {
    const { key } = otherPlatformPackage(committed());
    const result = check(damagedCopy((lock) => (lock.packages[key]!.version = '0.0.1')));
    expect(result.status).toBe(1);
    expect(result.output).toContain(`${key} is 0.0.1, but`);
  });
});
