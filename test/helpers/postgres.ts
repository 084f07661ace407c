import { randomBytes } from 'node:crypto';
import pg from 'pg';
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

/*
 * Integration tests build hundreds of apps, and a copy of the template plus its drop costs
 * 0.4-0.7 s on a busy 2-core machine, against about 7 ms to empty a database again. So a
 * database one of them is done with is emptied (every row of every table of the app's schema
 * deleted, identity sequences restarted: what the template holds) and handed to the file's next
 * test. Apps alive at the same time still get a database each. The file's last ones are dropped
 * by test/setup/postgres-file.ts.
 */
const emptied: Created[] = [];

async function emptyDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`);
    const sequences = await client.query<{ name: string }>(`SELECT sequencename AS name FROM pg_sequences WHERE schemaname = 'public'`);
    // DELETE, not TRUNCATE: on tables this small it is ten times faster (no new files).
    await client.query(
      ['BEGIN', ...tables.rows.map((t) => `DELETE FROM "${t.name}"`), ...sequences.rows.map((q) => `ALTER SEQUENCE "${q.name}" RESTART`), 'COMMIT'].join(';\n'),
    );
  } finally {
    await client.end();
  }
}

/** Drops the databases this file emptied for reuse, and the one copied ahead; run after the file's last test. */
export async function dropReusableDatabases(): Promise<void> {
  const left: Array<Promise<Created | null>> = emptied.splice(0).map((d) => Promise.resolve(d));
  if (next) left.push(next.catch(() => null));
  next = null;
  await Promise.all(
    left.map(async (pending) => {
      const database = await pending;
      if (database) await database.drop();
    }),
  );
}

/**
 * A fresh database with migrations applied (a copy of the template); `{ migrated: false }`: an
 * empty one. `{ reusable: true }`: one emptied after an earlier test of this file when there is
 * one, and emptied again instead of dropped by `drop` (see above); for apps, not for tests of
 * migrations or of the database's own state.
 */
export async function createTestPgDatabase(options: { migrated?: boolean; reusable?: boolean } = {}): Promise<TestPgDatabase> {
  let database: Created;
  const reused = options.reusable ? emptied.pop() : undefined;
  if (reused) {
    database = reused;
  } else if (options.migrated === false) {
    database = await createDatabaseFromTemplate({ ...runServer(), template: null }, `fanout_empty_${randomBytes(6).toString('hex')}`);
  } else {
    database = await (next ?? copyTemplate());
    // A reusing file needs a copy only the first time: none is made ahead for it.
    next = options.reusable ? null : copyTemplate();
  }
  const pools: PgDb[] = [];
  let isDropped = false;
  return {
    url: database.url,
    open(poolSize = 4) {
      const db = openPostgres({ url: database.url, poolSize, statementTimeoutMs: 30_000, ssl: 'disable' });
      pools.push(db);
      return db;
    },
    async drop() {
      // A second call must not hand the database out twice.
      if (isDropped) return;
      isDropped = true;
      await Promise.all(pools.map(closePostgres));
      if (!options.reusable) return database.drop();
      try {
        await emptyDatabase(database.url);
      } catch (error) {
        await database.drop();
        throw error;
      }
      emptied.push(database);
    },
  };
}
