// Runs the script named by its first argument with diagnostics V8 will not take from NODE_OPTIONS,
// for the snapshot-wave bench: `node bench/gateway-diagnostics.js dist/apps/gateway/src/main.js`.
//   DIAG_TRACE_GC=1        log every GC pause (--trace-gc) to stdout;
//   DIAG_CPU_PROFILE=file  the first SIGUSR2 starts a CPU profile of the main thread, the second
//                          writes it to `file` (open it in Chrome DevTools or speedscope).
'use strict';
const { writeFileSync } = require('node:fs');
const { Session } = require('node:inspector');
const { resolve } = require('node:path');

if (process.env.DIAG_TRACE_GC === '1') {
  require('node:v8').setFlagsFromString('--trace-gc');
  // --trace-gc stamps ms since the isolate started; these lines carry epoch ms, to line up GC
  // pauses and main-thread stalls with the light sender's slow acks.
  const { performance, PerformanceObserver } = require('node:perf_hooks');
  const epoch = (t) => Math.round(performance.timeOrigin + t);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.duration >= 5) console.log(`diag-gc: epoch ${epoch(e.startTime)} kind ${e.detail?.kind} pause ${e.duration.toFixed(1)} ms`);
  }).observe({ entryTypes: ['gc'] });
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > 50) console.log(`diag-stall: epoch ${epoch(last)} main thread late by ${(now - last - 5).toFixed(1)} ms`);
    last = now;
  }, 5).unref();
}

const profileFile = process.env.DIAG_CPU_PROFILE;
if (profileFile) {
  const session = new Session();
  session.connect();
  let profiling = false;
  process.on('SIGUSR2', () => {
    if (!profiling) {
      profiling = true;
      session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 500 }, () => session.post('Profiler.start')));
      return;
    }
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(profileFile, JSON.stringify(result.profile));
      profiling = false;
    });
  });
}

require(resolve(process.argv[2]));
