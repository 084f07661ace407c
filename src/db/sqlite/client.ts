import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import * as schema from './schema.ts';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

/**
 * Opens (creating the folder if needed) a SQLite database with the pragmas the service relies on.
 * `:memory:` gives a private database, as every test uses.
 */
export function openDatabase(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path);
  // WAL lets readers (API) and the one writer at a time (API or reconciler) proceed together.
  sqlite.pragma('journal_mode = WAL');
  // FULL: a recorded create intent must survive power loss, not only a process crash, because
  // it is what stops a restarted reconciler from sending the same mass message twice.
  sqlite.pragma('synchronous = FULL');
  // Two scheduler processes may share one file; wait for the other's write instead of failing.
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  // SQLite's own default page cache (2 MiB), not better-sqlite3's 16 MiB: that cache is resident
  // memory, and with a database of a gigabyte it fills; a page it misses comes from the OS's
  // file cache, not the disk.
  sqlite.pragma('cache_size = -2000');
  return drizzle({ client: sqlite, schema }) as Db;
}

/** Closes the handle; safe to call twice. */
export function closeDatabase(db: Db): void {
  if (db.$client.open) db.$client.close();
}
