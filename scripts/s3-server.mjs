#!/usr/bin/env node
// Local S3-compatible store for `npm start` and `npm test` (s3rver, devDependency).
//
//   node scripts/s3-server.mjs [--port N] [--tmp] [--dir PATH] [--bucket NAME] [--verbose]
//
// Port: --port N (or a bare number) > $S3_PORT > 4569; 0 picks a free port.
// Data: .data/s3 under the repo root, --dir PATH, or a fresh temp dir (--tmp, removed on exit).
// Bucket: --bucket NAME > $S3_BUCKET > durable-rooms (created at start, permissive CORS).
// Clients: endpoint http://127.0.0.1:PORT, forcePathStyle, key/secret S3RVER/S3RVER.
// Prints "s3: listening http://127.0.0.1:PORT bucket=NAME" once ready; SIGTERM/SIGINT close it.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function fail(msg) {
  console.error(`s3: ${msg}`);
  process.exit(1);
}

const args = process.argv.slice(2);
const opts = { port: process.env.S3_PORT ?? '4569', tmp: false, dir: null, bucket: process.env.S3_BUCKET || 'durable-rooms', verbose: false };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const value = () => {
    const eq = a.indexOf('=');
    if (eq >= 0) return a.slice(eq + 1);
    if (i + 1 >= args.length) fail(`${a} needs a value`);
    return args[++i];
  };
  if (a === '--tmp') opts.tmp = true;
  else if (a === '--verbose') opts.verbose = true;
  else if (a === '--port' || a.startsWith('--port=')) opts.port = value();
  else if (a === '--dir' || a.startsWith('--dir=')) opts.dir = value();
  else if (a === '--bucket' || a.startsWith('--bucket=')) opts.bucket = value();
  else if (/^\d+$/.test(a)) opts.port = a;
  else fail(`unknown argument ${a} (usage: s3-server.mjs [--port N] [--tmp] [--dir PATH] [--bucket NAME] [--verbose])`);
}

const port = Number(opts.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid port ${JSON.stringify(opts.port)}`);
if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(opts.bucket)) fail(`invalid bucket name ${JSON.stringify(opts.bucket)} (3-63 chars, lowercase letters, digits, dots, hyphens)`);

let S3rver;
try {
  S3rver = require('s3rver');
} catch {
  fail('the s3rver package is missing: run `npm ci` (or `npm install`)');
}

let directory;
if (opts.tmp) directory = mkdtempSync(join(tmpdir(), 'durable-rooms-s3-'));
else {
  directory = resolve(repoRoot, opts.dir ?? '.data/s3');
  mkdirSync(directory, { recursive: true });
}

// Browsers (the web client) may upload/download through presigned URLs.
const corsXml = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>POST</AllowedMethod>
    <AllowedMethod>DELETE</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;

const server = new S3rver({
  address: '127.0.0.1',
  port,
  silent: !opts.verbose,
  directory,
  configureBuckets: [{ name: opts.bucket, configs: [corsXml] }],
});

function cleanupTmp() {
  if (opts.tmp) {
    try {
      rmSync(directory, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
}

let closing = false;
async function shutdown(signal) {
  if (closing) return;
  closing = true;
  const force = setTimeout(() => {
    console.error('s3: close timed out, exiting');
    cleanupTmp();
    process.exit(0);
  }, 5000);
  force.unref();
  try {
    const closed = server.close();
    // Drop idle keep-alive sockets now and in-flight ones shortly after.
    server.httpServer?.closeIdleConnections?.();
    const t = setTimeout(() => server.httpServer?.closeAllConnections?.(), 1000);
    t.unref();
    await closed;
  } catch (err) {
    console.error(`s3: error while closing: ${err.message}`);
  }
  cleanupTmp();
  console.log(`s3: stopped (${signal})`);
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

// s3rver reports listen errors as an 'error' event, not through run()'s promise
process.on('uncaughtException', (err) => {
  cleanupTmp();
  fail(err.code === 'EADDRINUSE' ? `port ${port} is already in use (set S3_PORT or pass --port)` : `crashed: ${err.stack || err}`);
});

try {
  const addr = await server.run();
  console.log(`s3: listening http://127.0.0.1:${addr.port} bucket=${opts.bucket}${opts.tmp ? ` dir=${directory}` : ''}`);
} catch (err) {
  cleanupTmp();
  fail(err.code === 'EADDRINUSE' ? `port ${port} is already in use (set S3_PORT or pass --port)` : `failed to start: ${err.message}`);
}
