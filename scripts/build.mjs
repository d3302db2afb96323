#!/usr/bin/env node
// Compiles every app to dist/: generates the Prisma client (offline, skipped when current),
// then one TypeScript program for apps/ and libs/ (dist/apps/<app>/src/main.js).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => {
  try {
    execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
  } catch {
    console.error(`build: failed: ${args.join(' ')}`);
    process.exit(1);
  }
};

run(process.execPath, [join(root, 'scripts/prisma-generate.mjs')]);
rmSync(join(root, 'dist'), { recursive: true, force: true });
run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
console.log('build: dist/ ready');
