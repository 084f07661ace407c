import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import type { Db } from './client.ts';

export const migrationsFolder = fileURLToPath(new URL('../../../migrations/sqlite', import.meta.url));

/** Applies pending migrations; a second run is a no-op. */
export function runMigrations(db: Db): void {
  migrate(db, { migrationsFolder });
}
