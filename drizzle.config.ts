import { defineConfig } from 'drizzle-kit';

// The one file besides src/config.ts that reads the environment: drizzle-kit runs it on its own.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/db/schema.ts',
  out: './migrations',
  dbCredentials: { url: process.env.DATABASE_PATH ?? './data/fanout.db' },
});
