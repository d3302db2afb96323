// Runs the benchmark's TypeScript straight from source: `node -r ./bench/register.js bench/main.ts`.
// A minimal require hook on the already-installed @swc/core (a devDependency; no build step, no
// network): every .ts file outside node_modules is compiled to CommonJS when first required, with
// an inline source map so stack traces point at the .ts lines. Files keep their real paths, so
// test/support's ROOT (../..) is the repository root, as under jest.
'use strict';
const { readFileSync } = require('node:fs');
const Module = require('node:module');
const { transformSync } = require('@swc/core');

process.setSourceMapsEnabled(true);

Module._extensions['.ts'] = function compileTs(module, filename) {
  if (filename.includes(`${require('node:path').sep}node_modules${require('node:path').sep}`)) {
    throw new Error(`bench/register.js: refusing to compile ${filename} (TypeScript inside node_modules)`);
  }
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    sourceMaps: 'inline',
    module: { type: 'commonjs' },
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
  });
  module._compile(code, filename);
};
