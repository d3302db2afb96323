// Prisma 7 CLI configuration (read by `prisma generate`, `prisma migrate deploy`, ...).
//
// Prisma 7 does not load `.env` and `env('DATABASE_URL')` throws when the variable is unset, so
// the URL is read from process.env with the local-development default instead: `prisma generate`
// (which never connects) must work on a fresh clone with nothing configured.
//
// Offline machines: the CLI downloads its schema-engine binary before `migrate` commands. Use
// `npm run db:migrate` (scripts/db-migrate.mjs, the same engine compiled to WebAssembly) there, and
// `npm run db:generate` (scripts/prisma-generate.mjs) instead of a bare `prisma generate`.
import { defineConfig } from 'prisma/config';

const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/durable_rooms';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: {
    path: 'prisma/migrations',
  },
  datasource: {
    url: process.env.DATABASE_URL || DEFAULT_DATABASE_URL,
  },
});
