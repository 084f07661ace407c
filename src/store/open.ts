import type { DatabaseConfig } from '../config.ts';
import { redactUrl } from '../db/postgres/redact-url.ts';
import { closeDatabase, openDatabase } from '../db/sqlite/client.ts';
import { runMigrations } from '../db/sqlite/migrate.ts';
import type { LifecycleSettings } from '../sends/lifecycle.ts';
import { createSqliteStore } from './sqlite/index.ts';
import type { Store } from './types.ts';

/** Where the store lives, for logs: the file, or the server's URL with its password masked. */
export function describeDatabase(database: DatabaseConfig): string {
  return database.backend === 'sqlite' ? database.path : redactUrl(database.url);
}

/**
 * Opens the configured database, brings its schema up to date and returns the store on it:
 * SQLite (DATABASE_PATH) unless DATABASE_URL names a PostgreSQL server. On PostgreSQL the
 * migrations run under an advisory lock, so instances starting together apply them once.
 */
export async function openStore(
  database: DatabaseConfig,
  settings: LifecycleSettings,
  options: { onIdleError?: (error: Error) => void; applicationName?: string } = {},
): Promise<Store> {
  if (database.backend === 'sqlite') {
    const db = openDatabase(database.path);
    try {
      runMigrations(db);
    } catch (error) {
      closeDatabase(db);
      throw error;
    }
    return createSqliteStore(db, settings);
  }
  // Loaded only here: a SQLite server never holds pg and the PostgreSQL store in memory.
  const [{ openPostgres }, { runPostgresMigrations }, { createPostgresStore }] = await Promise.all([
    import('../db/postgres/client.ts'),
    import('../db/postgres/migrate.ts'),
    import('./postgres/index.ts'),
  ]);
  const db = openPostgres({ ...database, onIdleError: options.onIdleError, applicationName: options.applicationName });
  const store = createPostgresStore(db, settings);
  try {
    await runPostgresMigrations(db);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
