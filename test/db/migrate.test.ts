import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeDatabase, openDatabase, type Db } from '../../src/db/sqlite/client.ts';
import { migrationsFolder, runMigrations } from '../../src/db/sqlite/migrate.ts';
import { tableNames } from '../helpers/db-snapshot.ts';

const schemaOf = (db: Db) => db.$client.prepare('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name').all();

describe('migrations', () => {
  let dir: string;
  let db: Db;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-migrate-'));
    // A nested path also proves openDatabase creates the folder.
    db = openDatabase(join(dir, 'nested', 'fanout.db'));
  });
  afterEach(() => {
    closeDatabase(db);
    rmSync(dir, { recursive: true, force: true });
  });

  it('apply to an empty database and create the expected tables', () => {
    expect(tableNames(db)).toEqual([]);
    runMigrations(db);
    expect(tableNames(db)).toEqual(
      expect.arrayContaining(['__drizzle_migrations', 'api_tokens', 'campaign_events', 'campaigns', 'connections', 'idempotency_keys', 'runs', 'stats_snapshots']),
    );
    const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
    const applied = db.$client.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number };
    expect(applied.n).toBe(journal.entries.length);
  });

  it('are a no-op the second time, also from a fresh connection', () => {
    runMigrations(db);
    db.$client.prepare("INSERT INTO connections (id) VALUES ('conn_keep')").run();
    const schema = schemaOf(db);
    const applied = db.$client.prepare('SELECT * FROM __drizzle_migrations').all();

    runMigrations(db);
    const path = db.$client.name;
    closeDatabase(db);
    db = openDatabase(path);
    runMigrations(db);

    expect(schemaOf(db)).toEqual(schema);
    expect(db.$client.prepare('SELECT * FROM __drizzle_migrations').all()).toEqual(applied);
    expect(db.$client.prepare('SELECT id FROM connections').all()).toEqual([{ id: 'conn_keep' }]);
  });

  it('opens with the pragmas the service relies on', () => {
    expect(db.$client.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.$client.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.$client.pragma('busy_timeout', { simple: true })).toBe(5000);
  });
});
