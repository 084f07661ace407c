import type Database from 'better-sqlite3';
import { getTableColumns, getTableName, sql, type Column, type Placeholder } from 'drizzle-orm';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Db } from '../../db/sqlite/client.ts';

/*
 * Statements of the sync's hot paths, prepared once per connection and reused. Building a query
 * through drizzle and preparing it costs more than running it (a profile of bench:sync put a
 * third of the event loop there), and a sync step writes its send two or three times.
 */

const caches = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** The statement for this SQL on this connection, prepared on first use. */
export function cachedStatement(db: Db, source: string): Database.Statement {
  let cache = caches.get(db.$client);
  if (!cache) caches.set(db.$client, (cache = new Map()));
  let statement = cache.get(source);
  if (!statement) cache.set(source, (statement = db.$client.prepare(source)));
  return statement;
}

/**
 * A LIMIT bound as parameter `name`, for a statement prepared once and run many times. SQLite
 * (3.47 on) reads a bare `LIMIT ?` as the value bound when it prepares, and so marks the
 * statement to be prepared again whenever that parameter is bound anew (sqlite3ExprIsInteger
 * sets its varmask): every run of the campaign list re-prepared its 69-column join, about a
 * fifth of the run. `? + 0` is an expression, not a bare parameter: prepared once. drizzle
 * renders any SQL given as the limit; its type only names numbers and placeholders.
 */
export const reusableLimit = (name: string): Placeholder => sql`${sql.placeholder(name)} + 0` as unknown as Placeholder;

/** A drizzle prepared query on this connection, built on first use under `key`. */
const preparedQueries = new WeakMap<Database.Database, Map<string, unknown>>();
export function cachedQuery<T>(db: Db, key: string, build: () => T): T {
  let cache = preparedQueries.get(db.$client);
  if (!cache) preparedQueries.set(db.$client, (cache = new Map()));
  let query = cache.get(key) as T | undefined;
  if (query === undefined) cache.set(key, (query = build()));
  return query;
}

/**
 * Updates one row by id with `changes` (domain values, encoded as drizzle would: JSON, booleans)
 * through a statement cached per set of changed columns, and returns the row as now stored.
 * `row` must be the row as read in the same transaction: the result is `row` with the changes
 * applied, which is what the UPDATE wrote, so nothing is read back.
 */
export function updateRowById<R extends { id: string }>(db: Db, table: SQLiteTable, row: R, changes: Partial<Omit<R, 'id'>>): R {
  const columns = getTableColumns(table) as Record<string, Column>;
  const keys = Object.keys(changes).filter((k) => (changes as Record<string, unknown>)[k] !== undefined && k !== 'id');
  if (keys.length === 0) return row;
  const setList = keys.map((k) => {
    const column = columns[k];
    if (!column) throw new Error(`${getTableName(table)} has no column ${k}`);
    return `"${column.name}" = ?`;
  });
  const statement = cachedStatement(db, `UPDATE "${getTableName(table)}" SET ${setList.join(', ')} WHERE "id" = ?`);
  const values = keys.map((k) => {
    const value = (changes as Record<string, unknown>)[k];
    return value === null ? null : columns[k]!.mapToDriverValue(value);
  });
  const result = statement.run(...values, row.id);
  if (result.changes !== 1) throw new Error(`${getTableName(table)} ${row.id} vanished during an update`);
  const written: Record<string, unknown> = { ...row };
  for (const k of keys) written[k] = (changes as Record<string, unknown>)[k];
  return written as R;
}
