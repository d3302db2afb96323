// Runs the script named by its first argument with V8's --trace-gc on (NODE_OPTIONS refuses the
// flag): `node bench/trace-gc.js dist/apps/gateway/src/main.js`. Used by the snapshot-wave bench
// (BENCH_WAVE_TRACE_GC=1) to tell a GC pause from a slow commit.
'use strict';
const { resolve } = require('node:path');
require('node:v8').setFlagsFromString('--trace-gc');
require(resolve(process.argv[2]));
