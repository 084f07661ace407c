import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { is, sql } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgres, type PgDb } from '../../src/db/postgres/client.ts';
import { MIGRATIONS_LOCK_KEY, migrationsFolder, runPostgresMigrations } from '../../src/db/postgres/migrate.ts';
import * as schema from '../../src/db/postgres/schema.ts';
import { createTestPgDatabase, type TestPgDatabase } from '../helpers/postgres.ts';

const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
const tables = (Object.values(schema) as unknown[]).filter((value): value is PgTable => is(value, PgTable)).map(getTableConfig);

async function rows<T>(db: PgDb, query: ReturnType<typeof sql>): Promise<T[]> {
  return (await db.execute(query)).rows as T[];
}
const applied = (db: PgDb) => rows<{ hash: string; created_at: string }>(db, sql`SELECT hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id`);

describe('PostgreSQL migrations', () => {
  let database: TestPgDatabase;
  afterEach(async () => {
    await database.drop();
  });

  it('build on an empty database what src/db/postgres/schema.ts declares: tables, columns, nullability and indexes', async () => {
    database = await createTestPgDatabase({ migrated: false });
    const db = database.open();
    await runPostgresMigrations(db);

    expect(await applied(db)).toHaveLength(journal.entries.length);
    const columns = await rows<{ table_name: string; column_name: string; is_nullable: string }>(
      db,
      sql`SELECT table_name, column_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    const indexes = await rows<{ tablename: string; indexname: string }>(db, sql`SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public'`);
    expect([...new Set(columns.map((c) => c.table_name))].sort()).toEqual(tables.map((t) => t.name).sort());
    for (const table of tables) {
      const actual = columns.filter((c) => c.table_name === table.name).map((c) => [c.column_name, c.is_nullable === 'NO']);
      const declared = table.columns.map((c) => [c.name, c.notNull || c.primary]);
      expect(actual.sort(), table.name).toEqual(declared.sort());
      // Every declared index, plus the primary key's.
      const names = indexes.filter((i) => i.tablename === table.name).map((i) => i.indexname);
      expect(names.filter((n) => !n.endsWith('_pkey') && !n.endsWith('_pk')).sort(), table.name).toEqual(table.indexes.map((i) => i.config.name).sort());
      expect(names.some((n) => n.endsWith('_pkey') || n.endsWith('_pk')), `${table.name} has a primary key`).toBe(true);
    }
  });

  it('run once when instances start together, and a later run changes nothing', async () => {
    database = await createTestPgDatabase({ migrated: false });
    const instances = [database.open(2), database.open(2), database.open(2)];
    await Promise.all(instances.map(runPostgresMigrations));
    const first = await applied(instances[0]!);
    expect(first).toHaveLength(journal.entries.length);

    await instances[1]!.execute(sql`INSERT INTO connections (id) VALUES ('conn_keep')`);
    await runPostgresMigrations(instances[2]!);
    expect(await applied(instances[0]!)).toEqual(first);
    expect(await rows(instances[0]!, sql`SELECT id FROM connections`)).toEqual([{ id: 'conn_keep' }]);
  });

  it('wait for the advisory lock while another session holds it', async () => {
    database = await createTestPgDatabase({ migrated: false });
    const holder = database.open(2);
    const migrator = openPostgres({ url: database.url, poolSize: 1, statementTimeoutMs: 0, ssl: 'disable', applicationName: 'fanout-migrator' });
    const client = await holder.$client.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATIONS_LOCK_KEY]);
      let isDone = false;
      const migrating = runPostgresMigrations(migrator).then(() => (isDone = true));
      // The migrator's session shows up waiting on an advisory lock; nothing is applied meanwhile.
      await expect
        .poll(async () => (await rows<{ n: number }>(holder, sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'fanout-migrator' AND wait_event = 'advisory'`))[0]!.n, { timeout: 10_000 })
        .toBe(1);
      expect(isDone).toBe(false);
      expect(await rows(holder, sql`SELECT to_regclass('public.sends') AS t`)).toEqual([{ t: null }]);

      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATIONS_LOCK_KEY]);
      await migrating;
      expect(await applied(holder)).toHaveLength(journal.entries.length);
    } finally {
      client.release();
      await migrator.$client.end();
    }
  });
});
