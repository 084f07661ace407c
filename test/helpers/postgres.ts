import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { closePostgres, openPostgres, type PgDb } from '../../src/db/postgres/client.ts';
import { createDatabaseFromTemplate } from './postgres-server.ts';

/*
 * Per-test PostgreSQL databases on the run's server (test/setup/postgres.ts): each a copy of the
 * migrated template, so every test starts from an empty, migrated database of its own.
 */

export interface TestPgDatabase {
  url: string;
  /** A pool on it (closed by drop). */
  open(poolSize?: number): PgDb;
  /** Closes the pools opened here and drops the database. */
  drop(): Promise<void>;
}

type Created = Awaited<ReturnType<typeof createDatabaseFromTemplate>>;

/** The run's server; throws why there is none (a PostgreSQL test then fails, never skips). */
function runServer(): { adminUrl: string; template: string } {
  const server = inject('postgres');
  if (server === undefined) throw new Error('No PostgreSQL server for this run: test/setup/postgres.ts is not a globalSetup of this vitest project.');
  if ('error' in server) throw new Error(server.error);
  return server;
}

/**
 * The next test's database, copied while the current test runs: a copy costs about as long as a
 * short test, and the two overlap. One left over when the file ends goes with the server.
 */
let next: Promise<Created> | null = null;

function copyTemplate(): Promise<Created> {
  const created = createDatabaseFromTemplate(runServer(), `fanout_test_${randomBytes(6).toString('hex')}`);
  // Its failure is reported by the test that takes it, not as an unhandled rejection.
  created.catch(() => {});
  return created;
}

/** A fresh database with migrations applied (a copy of the template); `{ migrated: false }`: an empty one. */
export async function createTestPgDatabase(options: { migrated?: boolean } = {}): Promise<TestPgDatabase> {
  let database: Created;
  if (options.migrated === false) {
    database = await createDatabaseFromTemplate({ ...runServer(), template: null }, `fanout_empty_${randomBytes(6).toString('hex')}`);
  } else {
    database = await (next ?? copyTemplate());
    next = copyTemplate();
  }
  const pools: PgDb[] = [];
  return {
    url: database.url,
    open(poolSize = 4) {
      const db = openPostgres({ url: database.url, poolSize, statementTimeoutMs: 30_000, ssl: 'disable' });
      pools.push(db);
      return db;
    },
    async drop() {
      await Promise.all(pools.map(closePostgres));
      await database.drop();
    },
  };
}
