#!/usr/bin/env node
// Fails when package-lock.json lacks an optional package of another platform.
//
//   node scripts/check-lockfile.mjs [path/to/package-lock.json]     (default: the repo's)
//
// `npm install` over an existing node_modules can write a lockfile without the platform binaries
// that this machine does not use (@swc/core-darwin-arm64, @msgpackr-extract/*, ...; npm/cli#4828).
// `npm ci` then refuses it with EUSAGE on every platform, and the binary is missing on a user's
// macOS or Windows machine. A package whose optionalDependencies are all locked gets the
// right binary everywhere.
//
// For every lockfile entry that declares optionalDependencies (the root package too), each named
// package must resolve the way Node resolves it (the entry's own node_modules, then each folder
// above it) to an entry that has a version (the declared one, when the spec is an exact version)
// and an integrity hash. `resolved` is not required: npm leaves it out under
// `omit-lockfile-registry-resolved`, as this machine is set up, and then fetches from the
// configured registry. Exits 0 when complete, 1 with one line per missing package otherwise.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const EXACT_VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/** The lockfile key that `name`, required from the package at `from`, resolves to, or undefined. */
function resolveKey(packages, from, name) {
  let dir = from;
  for (;;) {
    const key = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (packages[key]) return key;
    if (dir === '') return undefined;
    const parent = dir.lastIndexOf('/node_modules/');
    dir = parent < 0 ? '' : dir.slice(0, parent);
  }
}

/** Every problem found in a lockfile's optional packages (empty: complete) and how much was checked. */
export function checkOptionalPackages(lock) {
  const packages = lock.packages;
  if (lock.lockfileVersion < 2 || !packages) return { problems: [`lockfileVersion ${lock.lockfileVersion} has no "packages" map: regenerate it with npm 7 or later`], declaring: 0, checked: 0 };
  const problems = [];
  let declaring = 0;
  let checked = 0;
  for (const [from, entry] of Object.entries(packages)) {
    const optional = entry.optionalDependencies ?? {};
    const names = Object.keys(optional);
    if (names.length === 0) continue;
    declaring += 1;
    const owner = from === '' ? 'the root package' : from;
    for (const name of names) {
      checked += 1;
      const key = resolveKey(packages, from, name);
      const locked = key && packages[key];
      if (!locked) {
        problems.push(`${name}@${optional[name]} (optional dependency of ${owner}) has no node_modules entry`);
        continue;
      }
      if (locked.link) continue; // a workspace or file: link, installed from the source tree
      if (!locked.version || !locked.integrity) problems.push(`${key} (optional dependency of ${owner}) lacks ${locked.version ? 'integrity' : 'version'}`);
      else if (EXACT_VERSION.test(optional[name]) && locked.version !== optional[name]) {
        problems.push(`${key} is ${locked.version}, but ${owner} wants ${optional[name]}`);
      }
    }
  }
  return { problems, declaring, checked };
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const path = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'package-lock.json'));
  const { problems, declaring, checked } = checkOptionalPackages(JSON.parse(readFileSync(path, 'utf8')));
  if (problems.length > 0) {
    console.error(`lockfile: ${path} lacks ${problems.length} optional package(s) of other platforms; \`npm ci\` would refuse it:`);
    for (const problem of problems) console.error(`  ${problem}`);
    console.error('Regenerate it from package.json alone: copy package.json into an empty folder, run `npm install --package-lock-only` there and copy the lockfile back.');
    process.exit(1);
  }
  console.log(`lockfile: ok, ${checked} optional package(s) of ${declaring} package(s) locked for every platform`);
}
