#!/usr/bin/env node
// Builds the web app (apps/web) into dist/web: type-checks it with its own tsconfig (DOM types;
// esbuild strips types without checking them), then bundles apps/web/src/main.ts with the client
// library and socket.io-client into one script, and copies the static files beside it.
//   node scripts/build-web.mjs           one build (part of `npm run build`)
//   node scripts/build-web.mjs --watch   rebuild on change while developing (no type check)
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/web');
const watch = process.argv.includes('--watch');

if (!watch) {
  // The app (DOM types, no Node), then its unit specs (the same plus jest's globals).
  for (const config of ['apps/web/tsconfig.json', 'apps/web/tsconfig.spec.json']) {
    try {
      execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', config], { cwd: root, stdio: 'inherit' });
    } catch {
      console.error(`build-web: failed: type errors in apps/web (tsc -p ${config})`);
      process.exit(1);
    }
  }
}

mkdirSync(outdir, { recursive: true });
cpSync(join(root, 'apps/web/static'), outdir, { recursive: true });

const options = {
  entryPoints: { app: join(root, 'apps/web/src/main.ts') },
  outdir,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022'],
  minify: !watch,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log('build-web: watching apps/web and libs/client');
} else {
  const result = await esbuild.build(options);
  const bytes = result.metafile.outputs['dist/web/app.js']?.bytes ?? Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes;
  console.log(`build-web: dist/web ready (app.js ${Math.round((bytes ?? 0) / 1024)} KiB)`);
}
