import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { closeDatabase, openDatabase, type Db } from '../../src/db/sqlite/client.ts';
import { migrationsFolder } from '../../src/db/sqlite/migrate.ts';

/**
 * The migration that built the production schema before sends existed. Upgrade tests start
 * from a database with only this one applied, as every deployed database is today.
 */
const FIRST_MIGRATION = '0000_init';

export interface LegacyDatabase {
  /** A database file with only the first migrations applied. */
  db: Db;
  path: string;
  /** Removes the temp folder (closing the handle first if still open). */
  cleanup(): void;
}

/**
 * A database file in a temp folder migrated with a copy of the migrations folder cut back to
 * its first entry (or up to `upTo`): those journal entries and their SQL. The real journal
 * entries are copied as they are, so drizzle later sees the same hash and `when` and applies
 * only what follows them.
 */
export function createLegacyDatabase(upTo: string = FIRST_MIGRATION): LegacyDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'fanout-upgrade-'));
  const legacyMigrations = join(dir, 'migrations');
  mkdirSync(join(legacyMigrations, 'meta'), { recursive: true });
  const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> };
  if (journal.entries[0]?.tag !== FIRST_MIGRATION) throw new Error(`the journal no longer starts with ${FIRST_MIGRATION}`);
  const last = journal.entries.findIndex((e) => e.tag === upTo);
  if (last < 0) throw new Error(`the journal has no migration ${upTo}`);
  const entries = journal.entries.slice(0, last + 1);
  writeFileSync(join(legacyMigrations, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries }, null, 2));
  for (const { tag } of entries) copyFileSync(join(migrationsFolder, `${tag}.sql`), join(legacyMigrations, `${tag}.sql`));

  const path = join(dir, 'fanout.db');
  const db = openDatabase(path);
  migrate(db, { migrationsFolder: legacyMigrations });
  return {
    db,
    path,
    cleanup() {
      closeDatabase(db);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A `campaigns` row as migrations/sqlite/0000_init.sql stores it: plan, sync state and stats in one. */
export interface LegacyCampaignRow {
  id: string;
  name: string;
  connection_id: string;
  /** JSON text. */
  message: string;
  /** JSON text. */
  audience: string;
  scheduled_at: number | null;
  status: 'draft' | 'scheduled' | 'queued' | 'sending' | 'sent' | 'canceled' | 'failed';
  revision: number;
  failure_reason: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  sync_state: 'idle' | 'pending' | 'creating' | 'synced' | 'retrying' | 'paused' | 'deleted' | 'error';
  remote_id: string | null;
  remote_deleted_at: number | null;
  synced_revision: number;
  create_started_at: number | null;
  create_revision: number | null;
  create_fingerprint: string | null;
  /** 0 or 1: SQLite has no booleans. */
  create_ambiguous: number;
  attempts: number;
  last_error: string | null;
  next_attempt_at: number | null;
  last_synced_at: number | null;
  sync_due_at: number | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  remote_list: 'scheduled' | 'unsent' | 'sent' | null;
  remote_seen_at: number | null;
  sent_at: number | null;
  sent_count: number | null;
  viewed_count: number | null;
  purchased_count: number | null;
  remote_price_cents: number | null;
  stats_observed_at: number | null;
  remote_missing_at: number | null;
}

type Required0000 = Pick<LegacyCampaignRow, 'id' | 'name' | 'message' | 'audience' | 'status' | 'created_at'>;

/** A legacy campaign row with the 0000 defaults (idle, nothing remote) under the given fields. */
export function legacyCampaign(fields: Required0000 & Partial<LegacyCampaignRow>): LegacyCampaignRow {
  return {
    connection_id: 'conn_sandbox',
    scheduled_at: null,
    revision: 1,
    failure_reason: null,
    created_by: 'ops-admin',
    updated_at: fields.created_at,
    sync_state: 'idle',
    remote_id: null,
    remote_deleted_at: null,
    synced_revision: 0,
    create_started_at: null,
    create_revision: null,
    create_fingerprint: null,
    create_ambiguous: 0,
    attempts: 0,
    last_error: null,
    next_attempt_at: null,
    last_synced_at: null,
    sync_due_at: null,
    lease_owner: null,
    lease_expires_at: null,
    remote_list: null,
    remote_seen_at: null,
    sent_at: null,
    sent_count: null,
    viewed_count: null,
    purchased_count: null,
    remote_price_cents: null,
    stats_observed_at: null,
    remote_missing_at: null,
    ...fields,
  };
}

/**
 * Inserts rows with raw SQL, as the 0000-era service would have written them: the drizzle
 * schema in src/ is the new one, so it cannot describe these tables.
 */
export function insertRows(db: Db, table: string, rows: ReadonlyArray<object>): void {
  for (const row of rows) {
    const columns = Object.keys(row);
    db.$client
      .prepare(`INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`)
      .run(row);
  }
}

/** Every row of a table as stored (snake_case columns, JSON as text), in a stable order. */
export function selectAll(db: Db, table: string, orderBy = 'rowid'): Array<Record<string, unknown>> {
  return db.$client.prepare(`SELECT * FROM "${table}" ORDER BY ${orderBy}`).all() as Array<Record<string, unknown>>;
}

/** The table's column names, in table order. */
export function columnNames(db: Db, table: string): string[] {
  return (db.$client.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as Array<{ name: string }>).map((c) => c.name);
}

/** The table's own indexes (not SQLite's automatic ones), sorted. */
export function indexNames(db: Db, table: string): string[] {
  return (
    db.$client.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name NOT LIKE 'sqlite_autoindex_%' ORDER BY name`).all(table) as Array<{
      name: string;
    }>
  ).map((i) => i.name);
}
