#!/usr/bin/env node
// Compiles every app to dist/: generates the Prisma client (offline, skipped when current),
// then one TypeScript program for apps/ and libs/ (dist/apps/<app>/src/main.js; the client
// library as ES modules in dist/libs/client/src/), then the web app (scripts/build-web.mjs:
// dist/web/, served by the API).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
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
// libs/client is ESM (its package.json says "type": "module", so tsc emits ES modules there);
// dist needs the same marker for Node to load it as ESM without guessing.
copyFileSync(join(root, 'libs/client/package.json'), join(root, 'dist/libs/client/package.json'));
if (!existsSync(join(root, 'dist/libs/client/src/index.js'))) {
  console.error('build: failed: the client library (dist/libs/client/src/index.js) was not emitted');
  process.exit(1);
}
run(process.execPath, [join(root, 'scripts/build-web.mjs')]);
console.log('build: dist/ ready');
