import { Column, getTableColumns } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import type { PgExecutor } from '../../db/postgres/client.ts';

/*
 * The sync's hot statements as SQL text written once and run as named prepared statements on
 * the node-postgres client itself. Drizzle's query builder costs more client CPU than the round
 * trip for these (building a wide UPDATE and its event INSERT anew at every call, checking every
 * value's kind), and PostgreSQL parses and plans an unnamed statement at every call; a named
 * one is parsed once per connection. Column lists and value encodings still come from the
 * drizzle schema, so the two cannot drift apart.
 */

/** The node-postgres client under a drizzle executor: the pool, or a transaction's own connection. */
export function clientOf(db: PgExecutor): Pick<pg.PoolClient, 'query'> {
  // drizzle's node-postgres session keeps the client it was built on (NodePgSession.client).
  return (db._.session as unknown as { client: Pick<pg.PoolClient, 'query'> }).client;
}

/** A statement's text and its name on each connection (unique per text). */
export interface Statement {
  name: string;
  text: string;
}

/** Runs `statement` with `values`, rows as arrays (decoded by a RowDecoder). */
export function runStatement(db: PgExecutor, statement: Statement, values: unknown[]): Promise<pg.QueryResult<unknown[]>> {
  return clientOf(db).query<unknown[]>({ name: statement.name, text: statement.text, values, rowMode: 'array' });
}

const quoted = (name: string) => `"${name}"`;

/** One table's columns in a raw (array-mode) row, decoded as drizzle's select decodes them. */
export interface PgRowDecoder<Row> {
  /** The select list for these columns of `alias`, in decode order. */
  selectList(alias: string): string;
  /** How many values of the raw row are this table's. */
  readonly width: number;
  decode(values: readonly unknown[], offset: number): Row;
}

/** A decoder of all of `table`'s columns, in declaration order (what `select().from(table)` reads). */
export function pgRowDecoder<Row>(table: PgTable): PgRowDecoder<Row> {
  const entries = Object.entries(getTableColumns(table)) as Array<[string, PgColumn]>;
  const keys = entries.map(([key]) => key);
  // Columns whose driver value is the value itself skip the call; bigint (as number) and jsonb do not.
  const decoders = entries.map(([, column]) => (column.mapFromDriverValue === Column.prototype.mapFromDriverValue ? null : column));
  return {
    selectList: (alias) => entries.map(([, column]) => `${quoted(alias)}.${quoted(column.name)}`).join(', '),
    width: keys.length,
    decode(values, offset) {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < keys.length; i++) {
        const value = values[offset + i];
        const decoder = decoders[i]!;
        row[keys[i]!] = value === null || value === undefined || decoder === null ? (value ?? null) : decoder.mapFromDriverValue(value);
      }
      return row as Row;
    },
  };
}

/** A column's value as the driver takes it (jsonb as JSON text), as drizzle encodes it. */
export function driverValue(column: PgColumn, value: unknown): unknown {
  return value === null ? null : column.mapToDriverValue(value);
}

/**
 * Statement names are per text; the texts below vary only with which columns a write sets, a
 * small set in practice. Past this many, texts run unnamed, so no pathological caller can make
 * every connection keep an unbounded number of prepared statements.
 */
const MAX_NAMED = 256;

/** A cache of statement texts by key, named `${prefix}_${n}` while under MAX_NAMED. */
export function statementCache(prefix: string) {
  const made = new Map<string, Statement>();
  return (key: string, build: () => string): Statement => {
    let statement = made.get(key);
    if (statement === undefined) {
      statement = { name: made.size < MAX_NAMED ? `${prefix}_${made.size + 1}` : '', text: build() };
      if (statement.name !== '') made.set(key, statement);
    }
    return statement;
  };
}
