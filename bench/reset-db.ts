/**
 * Drops the benchmark's database so every run starts from empty tables (the migration that
 * follows creates it again). Refuses any database whose name does not contain "bench".
 */
import { Client } from 'pg';

async function main(): Promise<void> {
  const url = new URL(process.env.DATABASE_URL ?? '');
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/bench/.test(name)) {
    console.log(`bench: not resetting database "${name}" (its name does not contain "bench")`);
    return;
  }
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
    console.log(`bench: database ${name} reset`);
  } finally {
    await client.end();
  }
}

main().catch((err: unknown) => {
  console.error(`bench: could not reset the database: ${(err as Error).message}`);
  process.exit(1);
});
