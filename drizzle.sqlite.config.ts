import { defineConfig } from 'drizzle-kit';

// drizzle-kit runs its config files on their own, so they (and src/config.ts) are the only files
// that read the environment. `npm run db:generate` runs this one and drizzle.postgres.config.ts.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/db/sqlite/schema.ts',
  out: './migrations/sqlite',
  dbCredentials: { url: process.env.DATABASE_PATH ?? './data/fanout.db' },
});
