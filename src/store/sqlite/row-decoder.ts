import { Column, getTableColumns } from 'drizzle-orm';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';

/**
 * Decodes one table's columns out of a raw (array-mode) result row, exactly as drizzle's select
 * decodes them: each column's own mapFromDriverValue (JSON, booleans), nulls kept null.
 *
 * Why not drizzle's own mapping: its generic mapResultRow checks every cell's kind and walks a
 * path per cell, about 0.2 µs a cell, and a list page of 50 campaigns with their sends has 3,500
 * cells: more than the query itself. This does the kind checks once per table.
 */
export interface RowDecoder<Row> {
  /** The columns decoded, by key, in the order to select them (`select({ x: decoder.columns })`). */
  readonly columns: Record<string, SQLiteColumn>;
  /** How many values of the raw row are this table's. */
  readonly width: number;
  /** The quoted column names, in decode order: the select list of a raw statement. */
  readonly selectList: string;
  /** The row starting at `offset`. */
  decode(values: readonly unknown[], offset: number): Row;
}

/** A decoder of `table`'s columns: all as declared (what `select().from(table)` reads), or `keys` in that order. */
export function rowDecoder<Row>(table: SQLiteTable, keys?: readonly string[]): RowDecoder<Row> {
  const all = getTableColumns(table) as Record<string, SQLiteColumn>;
  const picked = keys ?? Object.keys(all);
  const columns = Object.fromEntries(
    picked.map((key) => {
      if (!all[key]) throw new Error(`the table has no column ${key}`);
      return [key, all[key]];
    }),
  );
  // Columns whose driver value is the value itself (most of them) skip the call.
  const decoders = picked.map((key) => (all[key]!.mapFromDriverValue === Column.prototype.mapFromDriverValue ? null : all[key]!));
  return {
    columns,
    width: picked.length,
    selectList: picked.map((key) => `"${all[key]!.name}"`).join(', '),
    decode(values, offset) {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < picked.length; i++) {
        const value = values[offset + i];
        const decoder = decoders[i]!;
        row[picked[i]!] = value === null || decoder === null ? value : decoder.mapFromDriverValue(value);
      }
      return row as Row;
    },
  };
}
