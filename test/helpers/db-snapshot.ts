import type { Db } from '../../src/db/sqlite/client.ts';

/** Every table's name, including drizzle's and SQLite's own bookkeeping (sqlite_sequence). */
export function tableNames(db: Db): string[] {
  return (db.$client.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map(
    (r) => r.name,
  );
}

/**
 * Every row of every table, in rowid order, as one JSON document. Two equal snapshots mean the
 * request wrote nothing; a JSON diff (rather than the file bytes) says what it did write.
 */
export function snapshotTables(db: Db): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const name of tableNames(db)) {
    // Tables without rowid do not exist here, so rowid gives a stable order for every table.
    out[name] = db.$client.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all();
  }
  return out;
}

/** Row counts per table; enough when a test only needs to know nothing was added. */
export function rowCounts(db: Db): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of tableNames(db)) {
    out[name] = (db.$client.prepare(`SELECT count(*) AS n FROM "${name}"`).get() as { n: number }).n;
  }
  return out;
}
