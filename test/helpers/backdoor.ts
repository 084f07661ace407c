import { createHash } from 'node:crypto';
import { eq, type SQL } from 'drizzle-orm';
import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core';
import type { Campaign } from '../../src/campaigns/model.ts';
import type { Db } from '../../src/db/sqlite/client.ts';
import { campaigns, sends } from '../../src/db/sqlite/schema.ts';
import type { LifecycleSettings } from '../../src/sends/lifecycle.ts';
import type { Send, SendChanges } from '../../src/sends/model.ts';
import { writeSendAndCampaign } from '../../src/store/sqlite/write.ts';
import { rowCounts, snapshotTables, tableNames } from './db-snapshot.ts';

/** A campaign row as inserted (both dialects' tables have the same columns; see test/db/schema-parity). */
export type CampaignInsert = typeof campaigns.$inferInsert;
/** A send row as inserted. */
export type SendInsert = typeof sends.$inferInsert;

/**
 * The tests' way into the database behind the app, below the store: to look at rows the API
 * does not show, and to put rows into states the API cannot reach. One interface, implemented
 * for SQLite (here) and PostgreSQL (./backdoor-postgres.ts), so an integration test runs on
 * either backend unchanged. Raw columns, no derived state recomputed, unless a method says so.
 */
export interface Backdoor {
  readonly backend: 'sqlite' | 'postgres';
  /** Every table's name, the migration bookkeeping included. */
  tableNames(): Promise<string[]>;
  /** Every row of every table, in a stable order: two equal snapshots mean nothing was written. */
  snapshot(): Promise<Record<string, unknown[]>>;
  /** Row counts per table. */
  rowCounts(): Promise<Record<string, number>>;
  /**
   * Changes whenever anything is written, even a row rewritten with its own values: SQLite's
   * file bytes; PostgreSQL's row versions (xmin and ctid of every row).
   */
  writeStamp(): Promise<string>;
  /** A raw statement in the SQL both dialects share (drizzle's `sql` tag binds the parameters). */
  query<T = Record<string, unknown>>(statement: SQL): Promise<T[]>;
  campaign(id: string): Promise<Campaign | undefined>;
  insertCampaign(row: CampaignInsert): Promise<void>;
  /** Raw column writes: nothing derived is recomputed. */
  updateCampaign(id: string, changes: Partial<CampaignInsert>): Promise<void>;
  /** The campaign's first send (a one-shot has exactly one). */
  sendOfCampaign(campaignId: string): Promise<Send | undefined>;
  send(id: string): Promise<Send | undefined>;
  insertSend(row: SendInsert): Promise<void>;
  /** Raw column writes (callers recompute sync columns if they need them); returns the row. */
  updateSend(id: string, changes: Partial<SendInsert>): Promise<Send>;
  /** A loop's write: the send's changes through the lifecycle, its campaign brought in step, in one transaction. */
  writeSendThroughLifecycle(send: Send, changes: SendChanges, now: number): Promise<void>;
  /** Cuts the app off its database (closes the handle or ends the pool), as a database going away would. */
  disconnect(): Promise<void>;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

export function sqliteBackdoor(db: Db, settings: LifecycleSettings): Backdoor {
  return {
    backend: 'sqlite',
    tableNames: async () => tableNames(db),
    snapshot: async () => snapshotTables(db),
    rowCounts: async () => rowCounts(db),
    writeStamp: async () => sha256(db.$client.serialize()),
    async query<T>(statement: SQL) {
      const { sql: text, params } = new SQLiteSyncDialect().sqlToQuery(statement);
      const prepared = db.$client.prepare(text);
      // better-sqlite3 refuses all() on a statement that returns no rows (an UPDATE).
      if (prepared.reader) return prepared.all(...params) as T[];
      prepared.run(...params);
      return [];
    },
    campaign: async (id) => db.select().from(campaigns).where(eq(campaigns.id, id)).get(),
    async insertCampaign(row) {
      db.insert(campaigns).values(row).run();
    },
    async updateCampaign(id, changes) {
      db.update(campaigns).set(changes).where(eq(campaigns.id, id)).run();
    },
    sendOfCampaign: async (campaignId) => db.select().from(sends).where(eq(sends.campaignId, campaignId)).get(),
    send: async (id) => db.select().from(sends).where(eq(sends.id, id)).get(),
    async insertSend(row) {
      db.insert(sends).values(row).run();
    },
    async updateSend(id, changes) {
      const row = db.update(sends).set(changes).where(eq(sends.id, id)).returning().get();
      if (!row) throw new Error(`no send ${id}`);
      return row;
    },
    async writeSendThroughLifecycle(send, changes, now) {
      db.transaction(() => writeSendAndCampaign(db, send, changes, [], now, settings));
    },
    async disconnect() {
      db.$client.close();
    },
  };
}
