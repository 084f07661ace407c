import { defineConfig } from 'drizzle-kit';

// The PostgreSQL twin of drizzle.sqlite.config.ts. `generate` needs no database; the URL is only
// for drizzle-kit's own commands that connect (check, studio).
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/postgres/schema.ts',
  out: './migrations/postgres',
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://localhost:5432/fanout' },
});
