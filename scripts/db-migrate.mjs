#!/usr/bin/env node
// Applies prisma/migrations/*/migration.sql to the database in DATABASE_URL — the offline
// equivalent of `prisma migrate deploy`. Run by `npm run db:migrate`.
//
//   node scripts/db-migrate.mjs [--url postgresql://user@host:5432/db]
//
// 1. Creates the database when it does not exist (via the `postgres` maintenance database).
// 2. Applies every pending migration, in directory-name order, with Prisma's own schema engine
//    compiled to WebAssembly (@prisma/schema-engine-wasm) talking to Postgres through
//    @prisma/adapter-pg. It records them in the standard `_prisma_migrations` table (same
//    checksums), so this script and `prisma migrate deploy` can be used interchangeably.
//    The Prisma CLI would first download a native engine binary, which fails offline.
//
// Idempotent: a second run applies nothing. Exits non-zero with a one-line error on failure.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));

const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/durable_rooms';
const SCHEMA_PATH = path.join(root, 'prisma', 'schema.prisma');
const MIGRATIONS_DIR = path.join(root, 'prisma', 'migrations');
const LOCKFILE = 'migration_lock.toml';
const FILTERS = { externalTables: [], externalEnums: [] };

class CliError extends Error {}

function oneLine(text) {
  return String(text)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' | ');
}

// ---- arguments ------------------------------------------------------------------------------
function parseArgs(argv) {
  let url = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--url') {
      url = argv[++i];
      if (!url) throw new CliError('--url needs a value, e.g. --url postgresql://postgres@127.0.0.1:5432/durable_rooms');
    } else if (a.startsWith('--url=')) {
      url = a.slice('--url='.length);
    } else if (a === '-h' || a === '--help') {
      console.log('usage: node scripts/db-migrate.mjs [--url <postgres url>]   (default: $DATABASE_URL, else ' + DEFAULT_DATABASE_URL + ')');
      process.exit(0);
    } else {
      throw new CliError(`unknown argument: ${a}`);
    }
  }
  return url || process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
}

// ---- connection settings --------------------------------------------------------------------
// The connection string is split into discrete pg fields on purpose: adapter-pg's shadow-database
// helper spreads its config and overrides `database`, which a `connectionString` would silently win over.
function pgConfigFromUrl(url) {
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    throw new CliError(`DATABASE_URL must be a postgresql:// URL (got "${url.replace(/\/\/[^@/]*@/, '//***@')}")`);
  }
  const pgRequire = createRequire(require.resolve('pg'));
  const { parseIntoClientConfig } = pgRequire('pg-connection-string');
  const { schema, sslmode: _sslmode, ...parsed } = parseIntoClientConfig(url);
  const config = Object.fromEntries(Object.entries(parsed).filter(([, v]) => v !== undefined && v !== null));
  if (config.password === '') delete config.password; // let PGPASSWORD / ~/.pgpass apply
  if (!config.database) throw new CliError('DATABASE_URL has no database name (expected postgresql://user@host:port/<database>)');
  if (schema) {
    config.options = `${config.options ? config.options + ' ' : ''}-c search_path=${schema}`;
  }
  return { config, schema: schema || undefined };
}

function where(config) {
  const host = config.host || 'localhost';
  return host.startsWith('/') ? `${host}/.s.PGSQL.${config.port || 5432}` : `${host}:${config.port || 5432}`;
}

function describePgError(err, config, database) {
  const at = where(config);
  switch (err?.code) {
    case 'ECONNREFUSED':
    case 'ENOENT':
      return `cannot reach PostgreSQL at ${at} (connection refused): is the server running?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve PostgreSQL host "${config.host}" (${err.code})`;
    case 'ETIMEDOUT':
      return `timed out connecting to PostgreSQL at ${at}`;
    case '28P01':
    case '28000':
      return `PostgreSQL at ${at} rejected user "${config.user}" for database "${database}": ${err.message}`;
    case '42501':
      return `user "${config.user}" may not create database "${database}" at ${at}: ${err.message}`;
    default:
      if (/timeout/i.test(err?.message ?? '')) return `timed out connecting to PostgreSQL at ${at}`;
      return `PostgreSQL error at ${at} (database "${database}"): ${oneLine(err?.message ?? err)}${err?.code ? ` [${err.code}]` : ''}`;
  }
}

function quoteIdent(name) {
  return `"${String(name).replace(/"/g, '""')}"`;
}

async function ensureDatabase(pg, config) {
  const tryConnect = async (database) => {
    const client = new pg.Client({ ...config, database, connectionTimeoutMillis: 10_000 });
    client.on('error', () => {});
    await client.connect();
    return client;
  };
  try {
    const client = await tryConnect(config.database);
    await client.end();
    return false;
  } catch (err) {
    if (err?.code !== '3D000') throw new CliError(describePgError(err, config, config.database));
  }
  // The target database does not exist: create it from a maintenance database.
  let admin = null;
  let lastErr = null;
  for (const maintenance of ['postgres', 'template1']) {
    try {
      admin = await tryConnect(maintenance);
      break;
    } catch (err) {
      lastErr = err;
      if (err?.code !== '3D000') break;
    }
  }
  if (!admin) throw new CliError(describePgError(lastErr, config, 'postgres'));
  try {
    await admin.query(`CREATE DATABASE ${quoteIdent(config.database)}`);
  } catch (err) {
    if (err?.code !== '42P04') throw new CliError(describePgError(err, config, config.database)); // 42P04: created concurrently
    return false;
  } finally {
    await admin.end().catch(() => {});
  }
  return true;
}

// ---- migrations on disk -------------------------------------------------------------------
function loadMigrations() {
  if (!existsSync(MIGRATIONS_DIR)) throw new CliError(`no migrations directory at ${path.relative(root, MIGRATIONS_DIR)}`);
  const lockPath = path.join(MIGRATIONS_DIR, LOCKFILE);
  const dirs = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const migrationDirectories = dirs.map((name) => {
    const file = path.join(MIGRATIONS_DIR, name, 'migration.sql');
    let content;
    try {
      content = { tag: 'ok', value: readFileSync(file, 'utf8') };
    } catch (err) {
      content = { tag: 'error', value: err.message };
    }
    return { path: name, migrationFile: { path: 'migration.sql', content } };
  });
  return {
    baseDir: MIGRATIONS_DIR,
    lockfile: { path: LOCKFILE, content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

// ---- schema engine (WebAssembly) -------------------------------------------------------------
async function loadSchemaEngine() {
  let bgUrl;
  try {
    bgUrl = import.meta.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  } catch {
    throw new CliError('@prisma/schema-engine-wasm is not installed; run `npm ci` first');
  }
  const runtime = await import(bgUrl);
  const wasmPath = path.join(path.dirname(fileURLToPath(bgUrl)), 'schema_engine_bg.wasm');
  const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), { './schema_engine_bg.js': runtime });
  runtime.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start?.();
  return runtime;
}

// adapter-pg's executeScript splits a script on every ";" — including ones inside comments,
// string literals and $$-quoted bodies. Send each migration whole instead, as one simple-protocol
// query (which Postgres runs as one implicit transaction, like `prisma migrate deploy`).
function sendScriptsWhole(adapter) {
  adapter.executeScript = async function executeScript(script) {
    try {
      await this.client.query(script);
    } catch (error) {
      this.onError(error);
    }
  };
  return adapter;
}

function makeAdapterFactory(pg, PrismaPg, config, schema) {
  const base = new PrismaPg({ ...config }, schema ? { schema } : undefined);
  return {
    provider: base.provider,
    adapterName: base.adapterName,
    connect: async () => sendScriptsWhole(await base.connect()),
    // Not needed by applyMigrations; implemented here because adapter-pg 7.10's helper drops the
    // temporary database while its own pool is still connected to it.
    connectToShadowDb: async () => {
      const main = await base.connect();
      const database = `prisma_migrate_shadow_db_${globalThis.crypto.randomUUID()}`;
      await main.executeScript(`CREATE DATABASE ${quoteIdent(database)}`);
      const shadowBase = new PrismaPg({ ...config, database }, schema ? { schema } : undefined);
      const shadow = sendScriptsWhole(await shadowBase.connect());
      const dispose = shadow.dispose.bind(shadow);
      shadow.dispose = async () => {
        await dispose();
        try {
          await main.executeScript(`DROP DATABASE IF EXISTS ${quoteIdent(database)}`);
        } finally {
          await main.dispose();
        }
      };
      return shadow;
    },
  };
}

// Engine errors are multi-line: a generic headline ("external connector error"), the cause, then
// a Rust span trace naming the migration. Keep the cause and the migration name, on one line.
function engineErrorMessage(err) {
  let msg = err?.message ?? String(err);
  // Some engine errors arrive as JSON ({ message, error_code, meta, ... }).
  try {
    const parsed = JSON.parse(msg);
    if (parsed && typeof parsed.message === 'string') msg = parsed.message;
  } catch {
    /* plain text */
  }
  const lines = msg.split('\n');
  const traceAt = lines.findIndex((l) => /^\s*\d+: \S+::/.test(l));
  const migration = /migration_name="([^"]+)"/.exec(msg)?.[1];
  let body = (traceAt >= 0 ? lines.slice(0, traceAt) : lines).map((l) => l.trim()).filter(Boolean);
  if (body.length > 1 && /^external connector error$/i.test(body[0])) body = body.slice(1);
  const text = body.join(' | ') || oneLine(msg);
  return migration && !text.includes(migration) ? `migration ${migration}: ${text}` : text;
}

async function main() {
  const url = parseArgs(process.argv.slice(2));
  const { config, schema } = pgConfigFromUrl(url);
  const target = `${where(config)}/${config.database}`;

  const pg = require('pg');
  if (await ensureDatabase(pg, config)) console.log(`Created database "${config.database}" at ${where(config)}.`);

  const migrationsList = loadMigrations();
  if (migrationsList.migrationDirectories.length === 0) {
    console.log(`No migrations found in ${path.relative(root, MIGRATIONS_DIR)}; nothing to apply to ${target}.`);
    return;
  }

  const { PrismaPg } = require('@prisma/adapter-pg');
  const { bindMigrationAwareSqlAdapterFactory } = require('@prisma/driver-adapter-utils');
  const { SchemaEngine } = await loadSchemaEngine();

  const datamodel = readFileSync(SCHEMA_PATH, 'utf8');
  const adapter = bindMigrationAwareSqlAdapterFactory(makeAdapterFactory(pg, PrismaPg, config, schema));
  const debug = /\bdb-migrate\b|\*/.test(process.env.DEBUG ?? '');
  const engine = await SchemaEngine.new(
    { datamodels: [[SCHEMA_PATH, datamodel]] },
    (log) => {
      if (debug) console.error(`[schema-engine] ${typeof log === 'string' ? log : JSON.stringify(log)}`);
    },
    adapter,
  );

  let applied;
  try {
    ({ appliedMigrationNames: applied } = await engine.applyMigrations({ migrationsList, filters: FILTERS }));
  } catch (err) {
    throw new CliError(`migration failed on ${target}: ${engineErrorMessage(err)}`);
  } finally {
    try {
      engine.free();
    } catch {
      /* already freed */
    }
  }

  for (const name of applied) {
    const sql = readFileSync(path.join(MIGRATIONS_DIR, name, 'migration.sql'));
    console.log(`Applied migration ${name} (sha256 ${createHash('sha256').update(sql).digest('hex').slice(0, 12)})`);
  }
  const total = migrationsList.migrationDirectories.length;
  console.log(
    applied.length
      ? `Applied ${applied.length} migration(s) to ${target}; ${total} in prisma/migrations, database is up to date.`
      : `No pending migrations: ${target} is up to date (${total} migration(s) in prisma/migrations).`,
  );
}

main().then(
  // The WebAssembly engine can keep the event loop alive after free(): exit explicitly.
  () => process.exit(0),
  (err) => {
    const msg = err instanceof CliError ? err.message : engineErrorMessage(err);
    console.error(`db-migrate: error: ${msg}`);
    process.exit(1);
  },
);
