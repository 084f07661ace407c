import { is, type SQL } from 'drizzle-orm';
import { getTableConfig as getPgTableConfig, PgDialect, PgTable } from 'drizzle-orm/pg-core';
import { getTableConfig as getSqliteTableConfig, SQLiteSyncDialect, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import * as pgSchema from '../../src/db/postgres/schema.ts';
import * as sqliteSchema from '../../src/db/sqlite/schema.ts';

/*
 * The two schema files describe one model: the same tables, columns (name, kind, nullability,
 * default, key), primary keys and indexes (name, columns, uniqueness, partial predicate). Each
 * side is reduced to that shape from drizzle's own table config and the two must be equal;
 * test/db/postgres-migrate.test.ts proves the PostgreSQL migrations build what its schema says,
 * as test/db/upgrade.test.ts does for SQLite.
 */

/** What a column holds, whatever each engine calls it. */
const KINDS: Record<string, string> = {
  SQLiteInteger: 'integer',
  SQLiteText: 'text',
  SQLiteTextJson: 'json',
  SQLiteBoolean: 'boolean',
  PgInteger: 'integer',
  PgBigInt53: 'integer',
  PgText: 'text',
  PgJsonb: 'json',
  PgBoolean: 'boolean',
};

interface ColumnShape {
  name: string;
  kind: string;
  notNull: boolean;
  primary: boolean;
  default: unknown;
}

interface TableShape {
  name: string;
  columns: ColumnShape[];
  primaryKey: string[];
  indexes: Array<{ name: string; columns: string[]; unique: boolean; where: string | null }>;
}

function kindOf(column: { columnType: string; getSQLType(): string }): string {
  // Keys are a custom type on PostgreSQL: text compared bytewise.
  if (column.columnType === 'PgCustomColumn' && column.getSQLType() === 'text COLLATE "C"') return 'text';
  const kind = KINDS[column.columnType];
  if (!kind) throw new Error(`no kind for column type ${column.columnType}`);
  return kind;
}

type AnyConfig = ReturnType<typeof getSqliteTableConfig> | ReturnType<typeof getPgTableConfig>;

function shapeOf(config: AnyConfig, render: (where: SQL) => string): TableShape {
  return {
    name: config.name,
    columns: config.columns
      .map((c) => ({ name: c.name, kind: kindOf(c), notNull: c.notNull, primary: c.primary, default: c.default ?? null }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    primaryKey: config.primaryKeys.flatMap((pk) => pk.columns.map((c) => c.name)),
    indexes: config.indexes
      .map((i) => ({
        name: i.config.name!,
        columns: (i.config.columns as Array<{ name?: string }>).map((c) => c.name ?? '(expression)'),
        unique: i.config.unique,
        where: i.config.where ? render(i.config.where) : null,
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

const sqliteRender = new SQLiteSyncDialect();
const pgRender = new PgDialect();

const sqliteTables = (Object.values(sqliteSchema) as unknown[])
  .filter((value): value is SQLiteTable => is(value, SQLiteTable))
  .map((t) => shapeOf(getSqliteTableConfig(t), (where) => sqliteRender.sqlToQuery(where).sql))
  .sort((a, b) => a.name.localeCompare(b.name));
const pgTables = (Object.values(pgSchema) as unknown[])
  .filter((value): value is PgTable => is(value, PgTable))
  .map((t) => shapeOf(getPgTableConfig(t), (where) => pgRender.sqlToQuery(where).sql))
  .sort((a, b) => a.name.localeCompare(b.name));

describe('SQLite and PostgreSQL schemas', () => {
  it('declare the same tables', () => {
    expect(pgTables.map((t) => t.name)).toEqual(sqliteTables.map((t) => t.name));
    expect(sqliteTables.length).toBeGreaterThanOrEqual(9);
  });

  describe.each(sqliteTables.map((t) => [t.name, t] as const))('%s', (name, sqlite) => {
    const pg = pgTables.find((t) => t.name === name)!;

    it('has the same columns: name, kind, nullability, default and key', () => {
      expect(pg.columns).toEqual(sqlite.columns);
    });

    it('has the same primary key and indexes, partial predicates included', () => {
      expect(pg.primaryKey).toEqual(sqlite.primaryKey);
      expect(pg.indexes).toEqual(sqlite.indexes);
    });
  });
});
