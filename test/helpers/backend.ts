import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeDatabase, openDatabase, type Db } from '../../src/db/sqlite/client.ts';
import { runMigrations } from '../../src/db/sqlite/migrate.ts';
import { it } from 'vitest';
import type { LifecycleSettings } from '../../src/sends/lifecycle.ts';
import { createPostgresStore } from '../../src/store/postgres/index.ts';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store } from '../../src/store/types.ts';
import { postgresBackdoor } from './backdoor-postgres.ts';
import { sqliteBackdoor, type Backdoor } from './backdoor.ts';
import { createTestPgDatabase } from './postgres.ts';

/*
 * Which database the integration tests build their apps on. FANOUT_TEST_BACKEND=postgres (the
 * main-pg vitest project sets it) runs the same files on PostgreSQL, a fresh database per app
 * copied from the run's migrated template; unset, SQLite in memory. A test file that is about
 * SQLite itself passes `db` to buildTestApp, which pins it to SQLite whatever the variable says.
 */

export type TestBackend = 'sqlite' | 'postgres';

/** DATABASE_POOL_SIZE's default (src/config.ts). */
const SERVER_POOL_SIZE = 10;

/** The backend this run's integration tests use; an unknown name fails rather than falling back. */
export function testBackend(): TestBackend {
  const name = process.env.FANOUT_TEST_BACKEND || 'sqlite';
  if (name !== 'sqlite' && name !== 'postgres') throw new Error(`FANOUT_TEST_BACKEND must be sqlite or postgres, not ${JSON.stringify(name)}`);
  return name;
}

export interface TestStore {
  backend: TestBackend;
  store: Store;
  rows: Backdoor;
  /** SQLite's handle; on PostgreSQL, a handle that throws on use (tests reach rows through `rows`). */
  db: Db;
  /** Runs after the store is closed: drops a PostgreSQL test database. */
  dispose(): Promise<void>;
}

/** Fails a test that reaches for SQLite's handle while it runs on PostgreSQL, saying what to use instead. */
function sqliteOnly(): Db {
  return new Proxy({} as Db, {
    get(_, property) {
      throw new Error(`t.db.${String(property)}: t.db is the SQLite handle, and this test runs on PostgreSQL. Use t.rows (test/helpers/backdoor.ts), or keep the file SQLite-only.`);
    },
  });
}

/**
 * `it` on SQLite; on PostgreSQL the test is reported skipped. Only for a test whose assertion
 * holds because SQLite answers within the calling microtask (orderings measured against
 * OFAuth calls or the real-time rate bucket); say why at the call site.
 */
export function itOnSqliteOnly() {
  return it.skipIf(testBackend() === 'postgres');
}

/** A store on `db` (SQLite), or on a fresh PostgreSQL test database. */
export async function openTestStore(backend: TestBackend, settings: LifecycleSettings, createSqliteDb: () => Db): Promise<TestStore> {
  if (backend === 'sqlite') {
    const db = createSqliteDb();
    return { backend, db, store: createSqliteStore(db, settings), rows: sqliteBackdoor(db, settings), dispose: async () => {} };
  }
  const database = await createTestPgDatabase({ reusable: true });
  // The pool a server opens by default (DATABASE_POOL_SIZE): a smaller one queues a lane's
  // writes behind another lane's, which the sync tests would see as one connection holding up another.
  const db = database.open(SERVER_POOL_SIZE);
  return { backend, db: sqliteOnly(), store: createPostgresStore(db, settings), rows: postgresBackdoor(db, settings), dispose: database.drop };
}

/** The backdoor into a store the caller built itself (a PostgreSQL store exposes its pool as `db`). */
export function backdoorFor(store: Store, sqliteDb: Db, settings: LifecycleSettings): Backdoor {
  if (store.backend === 'postgres' && 'db' in store) return postgresBackdoor((store as Store & { db: Parameters<typeof postgresBackdoor>[0] }).db, settings);
  return sqliteBackdoor(sqliteDb, settings);
}

export interface PeerStores {
  /** Each as one process would hold the database: its own SQLite handle on one file, or its own pool on one PostgreSQL database. */
  peers: Array<{ store: Store; rows: Backdoor }>;
  /** Closes every peer's store (again: closing twice is safe) and removes the database. */
  dispose(): Promise<void>;
}

/** `count` stores on one shared database, as that many Fanout instances would open it. */
export async function openPeerStores(backend: TestBackend, settings: LifecycleSettings, count = 2): Promise<PeerStores> {
  if (backend === 'sqlite') {
    // A file: a second handle on :memory: would be a different database.
    const dir = mkdtempSync(join(tmpdir(), 'fanout-peers-'));
    const path = join(dir, 'fanout.db');
    const dbs = Array.from({ length: count }, (_, i) => {
      const db = openDatabase(path);
      if (i === 0) runMigrations(db);
      return db;
    });
    return {
      peers: dbs.map((db) => ({ store: createSqliteStore(db, settings), rows: sqliteBackdoor(db, settings) })),
      async dispose() {
        dbs.forEach(closeDatabase);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const database = await createTestPgDatabase({ reusable: true });
  const pools = Array.from({ length: count }, () => database.open(SERVER_POOL_SIZE));
  return {
    peers: pools.map((db) => ({ store: createPostgresStore(db, settings), rows: postgresBackdoor(db, settings) })),
    dispose: database.drop,
  };
}
