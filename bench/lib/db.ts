import { performance } from 'node:perf_hooks';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeDatabase, openDatabase, type Db } from '../../src/db/sqlite/client.ts';
import { runMigrations } from '../../src/db/sqlite/migrate.ts';

export interface TempDb {
  db: Db;
  path: string;
  /** Database plus WAL, in bytes. */
  sizeBytes(): number;
  /** Closes the handle and deletes the folder; safe to call twice. */
  dispose(): void;
}

/** Temp databases not yet disposed; removed on any exit path, Ctrl-C included. */
const live = new Set<TempDb>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', () => [...live].forEach((t) => t.dispose()));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
}

/**
 * A migrated database in a fresh temp folder, opened through openDatabase so the benchmark runs
 * with the service's own pragmas (WAL, synchronous=FULL), not an in-memory shortcut.
 */
export function openTempDb(label: string): TempDb {
  const dir = mkdtempSync(join(tmpdir(), `fanout-bench-${label}-`));
  const path = join(dir, 'fanout.db');
  const db = openDatabase(path);
  runMigrations(db);
  let disposed = false;
  const temp: TempDb = {
    db,
    path,
    sizeBytes: () => [path, `${path}-wal`].reduce((sum, file) => sum + (statSync(file, { throwIfNoEntry: false })?.size ?? 0), 0),
    dispose() {
      if (disposed) return;
      disposed = true;
      live.delete(temp);
      closeDatabase(db);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(temp);
  installExitHooks();
  return temp;
}

/**
 * Runs `fn` (a bulk insert) with the tables' indexes dropped, then creates them again from their
 * own CREATE INDEX text, all in one transaction: SQLite builds an index from sorted keys several
 * times faster than it grows one row by row, and the schema ends up exactly as migrated. Call
 * inside no other transaction.
 */
export function withIndexesDeferred<T>(db: Db, tables: string[], fn: () => T): T {
  const client = db.$client;
  return client.transaction(() => {
    const indexes = client
      .prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${tables.map(() => '?').join(', ')})`)
      .all(...tables) as Array<{ name: string; sql: string }>;
    for (const index of indexes) client.exec(`DROP INDEX "${index.name}"`);
    const result = fn();
    for (const index of indexes) client.exec(index.sql);
    return result;
  })();
}

export interface TracedStatement {
  sql: string;
  /** The parameters of its last run. */
  params: unknown[];
  /** How often it ran inside the trace (statements are often prepared up front and run later). */
  runs: number;
}

/**
 * Records the SQL (and parameters) that `fn` prepares on this connection, so query plans are
 * shown for the statements the code really runs rather than a copy that could drift.
 */
export function traceStatements<T>(db: Db, fn: () => T): { result: T; statements: TracedStatement[] } {
  const client = db.$client;
  const original = client.prepare;
  const statements: TracedStatement[] = [];
  client.prepare = function (this: typeof client, source: string) {
    const stmt = original.call(this, source);
    const traced: TracedStatement = { sql: source, params: [], runs: 0 };
    statements.push(traced);
    for (const method of ['all', 'get', 'run', 'iterate'] as const) {
      const run = stmt[method] as (...args: unknown[]) => unknown;
      (stmt as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        traced.params = args;
        traced.runs++;
        return run.apply(stmt, args);
      };
    }
    return stmt;
  } as typeof client.prepare;
  try {
    return { result: fn(), statements };
  } finally {
    client.prepare = original;
  }
}

/** EXPLAIN QUERY PLAN lines (indented by depth) for a traced statement. */
export function explain(db: Db, statement: TracedStatement): string[] {
  const rows = db.$client.prepare(`EXPLAIN QUERY PLAN ${statement.sql}`).all(...statement.params) as Array<{ id: number; parent: number; detail: string }>;
  const depth = new Map<number, number>([[0, -1]]);
  return rows.map((row) => {
    const level = (depth.get(row.parent) ?? -1) + 1;
    depth.set(row.id, level);
    return `${'  '.repeat(level)}${row.detail}`;
  });
}

/**
 * Median time of one single-row write transaction on a fresh database in the temp folder, with
 * the service's pragmas: under synchronous=FULL it is mostly the fsync, which is what bounds how
 * many sync steps per second one process can record. Printed so a slow or busy disk is visible.
 */
export function measureCommitMs(samples = 200): number {
  const probe = openTempDb('commit-probe');
  try {
    const client = probe.db.$client;
    client.exec('CREATE TABLE probe (n INTEGER)');
    const insert = client.prepare('INSERT INTO probe (n) VALUES (?)');
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      insert.run(i);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  } finally {
    probe.dispose();
  }
}

/**
 * Counts commits on this connection from now on, and the time spent in them: outermost
 * transactions (body included), plus writes run outside one (autocommit). Under
 * synchronous=FULL each is an fsync on the event loop, so commits per sync step bound how many
 * steps per second one process can record. Install before building repositories (statements
 * they prepare up front are not seen otherwise).
 */
export function countCommits(db: Db): { count(): number; ms(): number } {
  const client = db.$client;
  let commits = 0;
  let spentMs = 0;
  const timed = <T>(run: () => T): T => {
    if (client.inTransaction) return run();
    commits++;
    const started = performance.now();
    try {
      return run();
    } finally {
      spentMs += performance.now() - started;
    }
  };
  const transaction = client.transaction;
  client.transaction = function (this: typeof client, fn: (...args: never[]) => unknown) {
    const tx = transaction.call(this, fn as never) as unknown as Record<string, (...args: unknown[]) => unknown>;
    const counted = (run: (...args: unknown[]) => unknown) =>
      function (this: unknown, ...args: unknown[]) {
        return timed(() => run.apply(this, args));
      };
    const wrapped = counted(tx as unknown as (...args: unknown[]) => unknown) as unknown as Record<string, unknown>;
    for (const behavior of ['deferred', 'immediate', 'exclusive'] as const) wrapped[behavior] = counted(tx[behavior]!);
    return wrapped;
  } as unknown as typeof client.transaction;
  const prepare = client.prepare;
  client.prepare = function (this: typeof client, source: string) {
    const stmt = prepare.call(this, source);
    if (!stmt.readonly) {
      // UPDATE … RETURNING runs through get/all, a plain write through run.
      for (const method of ['run', 'get', 'all'] as const) {
        const original = stmt[method] as (...args: unknown[]) => unknown;
        (stmt as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => timed(() => original.apply(stmt, args));
      }
    }
    return stmt;
  } as typeof client.prepare;
  return { count: () => commits, ms: () => spentMs };
}
