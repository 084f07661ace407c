import { getTableColumns, is, Table, type Query } from 'drizzle-orm';
import { QueryBuilder, type PgColumn, type PgSelectBuilder, type PgTable, type PreparedQueryConfig, type SelectedFieldsOrdered } from 'drizzle-orm/pg-core';
import type { PgExecutor } from '../../db/postgres/client.ts';

/*
 * Hot statements built once and run as named prepared statements. Drizzle builds a statement's
 * SQL anew at every execution (for a wide row that costs more client CPU than the round trip) and
 * cannot run a prepared statement inside a transaction (drizzle issue #613), so the executor's
 * own session (a transaction's, or the pool's) prepares the query built here. PostgreSQL then
 * parses and plans each once per connection instead of at every call.
 */

type Selection = Record<string, PgColumn | PgTable>;

/** The selection's fields in the order of its select list, as drizzle orders them (a table by its columns). */
function orderedFields(selection: Selection): SelectedFieldsOrdered {
  return Object.entries(selection).flatMap(([key, value]) =>
    is(value, Table) ? Object.entries(getTableColumns(value)).map(([column, field]) => ({ path: [key, column], field })) : [{ path: [key], field: value }],
  );
}

/**
 * A SELECT built once from `selection` (`build` adds FROM, WHERE, locking, with sql.placeholder
 * for its parameters), answering rows shaped as drizzle's select(selection) does. `name` is the
 * statement's name on each connection: unique per statement.
 */
export function preparedSelect<Row, S extends Selection = Selection>(name: string, selection: S, build: (select: PgSelectBuilder<S, 'qb'>) => { toSQL(): Query }) {
  const query = build(new QueryBuilder().select(selection)).toSQL();
  const fields = orderedFields(selection);
  return (db: PgExecutor, params: Record<string, unknown>): Promise<Row[]> =>
    db._.session.prepareQuery<PreparedQueryConfig & { execute: Row[] }>(query, fields, name, true).execute(params);
}
