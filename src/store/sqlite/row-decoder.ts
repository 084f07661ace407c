import { Column, getTableColumns } from 'drizzle-orm';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';

/**
 * Decodes one table's columns out of a raw (array-mode) result row, exactly as drizzle's select
 * decodes them: each column's own mapFromDriverValue (JSON, booleans), nulls kept null.
 *
 * Why not drizzle's own mapping: its generic mapResultRow checks every cell's kind and walks a
 * path per cell, about 0.2 µs a cell, and a list page of 50 campaigns with their sends has 3,500
 * cells: more than the query itself. This does the kind checks once per table.
 */
export interface RowDecoder<Row> {
  /** How many values of the raw row are this table's. */
  readonly width: number;
  /** The row starting at `offset`, in the order drizzle selects a table (its columns as declared). */
  decode(values: readonly unknown[], offset: number): Row;
}

export function rowDecoder<Row>(table: SQLiteTable): RowDecoder<Row> {
  const entries = Object.entries(getTableColumns(table));
  const keys = entries.map(([key]) => key);
  // Columns whose driver value is the value itself (most of them) skip the call.
  const decoders = entries.map(([, column]) => (column.mapFromDriverValue === Column.prototype.mapFromDriverValue ? null : column));
  return {
    width: keys.length,
    decode(values, offset) {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < keys.length; i++) {
        const value = values[offset + i];
        const decoder = decoders[i]!;
        row[keys[i]!] = value === null || decoder === null ? value : decoder.mapFromDriverValue(value);
      }
      return row as Row;
    },
  };
}
