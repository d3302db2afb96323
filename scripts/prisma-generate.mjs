#!/usr/bin/env node
// Generates the Prisma client (prisma/schema.prisma -> libs/persistence/src/generated/prisma)
// fully offline. Run by `npm run db:generate` and by the build.
//
//   node scripts/prisma-generate.mjs            # skips when the output is up to date
//   node scripts/prisma-generate.mjs --force    # always regenerates
//
// Why this wrapper: every Prisma CLI command first makes sure its schema-engine *binary* is
// present and downloads it from binaries.prisma.sh otherwise, which fails without internet even
// though `generate` never runs that binary. When no engine binary is installed we point
// PRISMA_SCHEMA_ENGINE_BINARY at a harmless executable so the CLI skips the download.
// Migrations are applied by scripts/db-migrate.mjs (WebAssembly engine), not by the CLI.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));

const SCHEMA = path.join(root, 'prisma', 'schema.prisma');
const CONFIG = path.join(root, 'prisma.config.ts');
const OUTPUT = path.join(root, 'libs', 'persistence', 'src', 'generated', 'prisma');
// Written by `prisma generate`; holds the CLI version that generated the client.
const OUTPUT_MARKER = path.join(OUTPUT, 'internal', 'class.ts');

function fail(message) {
  console.error(`prisma-generate: ${message}`);
  process.exit(1);
}

const args = process.argv.slice(2);
const force = args.includes('--force');
const passThrough = args.filter((a) => a !== '--force');

let prismaPkgPath;
try {
  prismaPkgPath = require.resolve('prisma/package.json');
} catch {
  fail('the `prisma` package is not installed; run `npm ci` first.');
}
const prismaDir = path.dirname(prismaPkgPath);
const prismaPkg = JSON.parse(readFileSync(prismaPkgPath, 'utf8'));
const prismaBin = path.join(
  prismaDir,
  typeof prismaPkg.bin === 'string' ? prismaPkg.bin : prismaPkg.bin.prisma,
);

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function isUpToDate() {
  if (!existsSync(OUTPUT_MARKER) || !existsSync(path.join(OUTPUT, 'client.ts'))) return false;
  const generatedAt = mtime(OUTPUT_MARKER);
  if (generatedAt <= Math.max(mtime(SCHEMA), mtime(CONFIG))) return false;
  // Regenerate after a Prisma upgrade too (npm gives installed files a fixed old mtime).
  const marker = readFileSync(OUTPUT_MARKER, 'utf8');
  return marker.includes(`"clientVersion": "${prismaPkg.version}"`);
}

if (!existsSync(SCHEMA)) fail(`schema not found: ${path.relative(root, SCHEMA)}`);

if (!force && isUpToDate()) {
  console.log(
    `prisma-generate: client is up to date (${path.relative(root, OUTPUT)}); use --force to regenerate.`,
  );
  process.exit(0);
}

// ---- Is a real schema-engine binary available? -------------------------------------------
function engineHash() {
  try {
    const enginesPkg = require.resolve('@prisma/engines-version/package.json', {
      paths: [prismaDir, path.dirname(require.resolve('@prisma/engines/package.json', { paths: [prismaDir] }))],
    });
    return JSON.parse(readFileSync(enginesPkg, 'utf8')).prisma?.enginesVersion ?? null;
  } catch {
    return null;
  }
}

function cacheDirs() {
  const home = os.homedir();
  const dirs = [];
  if (process.env.XDG_CACHE_HOME) dirs.push(process.env.XDG_CACHE_HOME);
  if (process.platform === 'darwin') dirs.push(path.join(home, 'Library', 'Caches'));
  if (process.platform === 'win32' && process.env.LOCALAPPDATA) dirs.push(process.env.LOCALAPPDATA);
  dirs.push(path.join(home, '.cache'));
  return dirs.map((d) => path.join(d, 'prisma', 'master'));
}

function listEngineFiles(dir, { exactName } = {}) {
  try {
    return readdirSync(dir)
      .filter((f) => (exactName ? f === 'schema-engine' || f === 'schema-engine.exe' : /^schema-engine-/.test(f)))
      .filter((f) => !f.endsWith('.gz') && !f.endsWith('.sha256') && !f.endsWith('.tmp'))
      .map((f) => path.join(dir, f))
      .filter((f) => statSync(f).isFile() && statSync(f).size > 0);
  } catch {
    return [];
  }
}

function findEngineBinary() {
  for (const name of ['PRISMA_SCHEMA_ENGINE_BINARY', 'PRISMA_MIGRATION_ENGINE_BINARY']) {
    const p = process.env[name];
    if (p && existsSync(p)) return p;
  }
  // Installed next to the packages by their (optional) install scripts.
  const candidates = [];
  try {
    candidates.push(path.dirname(require.resolve('@prisma/engines/package.json', { paths: [prismaDir] })));
  } catch {
    /* not installed */
  }
  candidates.push(prismaDir);
  for (const dir of candidates) {
    const found = listEngineFiles(dir);
    if (found.length) return found[0];
  }
  // Downloaded earlier by the CLI into the user cache (~/.cache/prisma/master/<hash>/<platform>/).
  const hash = engineHash();
  if (hash) {
    for (const cache of cacheDirs()) {
      const base = path.join(cache, hash);
      let platforms = [];
      try {
        platforms = readdirSync(base);
      } catch {
        continue;
      }
      for (const platform of platforms) {
        const found = listEngineFiles(path.join(base, platform), { exactName: true });
        if (found.length) return found[0];
      }
    }
  }
  return null;
}

// Any executable will do: `prisma generate` checks that the file exists but never runs it.
function stubExecutable() {
  for (const p of ['/bin/true', '/usr/bin/true']) if (existsSync(p)) return p;
  return process.execPath;
}

const env = {
  ...process.env,
  CHECKPOINT_DISABLE: '1', // no update check / telemetry request
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING: '1', // never fetch .sha256 files
};
const engine = findEngineBinary();
if (engine) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = engine;
} else {
  env.PRISMA_SCHEMA_ENGINE_BINARY = stubExecutable();
}

const result = spawnSync(
  process.execPath,
  [prismaBin, 'generate', '--schema', path.relative(root, SCHEMA), ...passThrough],
  { cwd: root, env, stdio: 'inherit' },
);
if (result.error) fail(`could not run prisma: ${result.error.message}`);
if (result.status !== 0) fail(`prisma generate failed (exit code ${result.status ?? result.signal}).`);
