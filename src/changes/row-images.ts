import { getTableColumns } from 'drizzle-orm';
import type { MySqlTable } from 'drizzle-orm/mysql-core';

/**
 * Turns a binlog row image into the row Drizzle would have read, so the follower
 * caches exactly what a read's backfill caches.
 *
 * The binlog reader (zongji) decodes values as mysql2 decodes a query's result, with
 * dates as strings (`dateStrings`): those are the driver values Drizzle's columns map
 * from, so each column's own `mapFromDriverValue` finishes the job, and a new column
 * type needs nothing here. Images are keyed by the table's column names
 * (`created_at`), rows by the schema's field names (`createdAt`).
 */
export type RowImage = Readonly<Record<string, unknown>>;

export function rowFromImage<Row>(table: MySqlTable): (image: RowImage) => Row {
  const columns = Object.entries(getTableColumns(table)).map(([field, column]) => ({ field, column }));
  return (image) => {
    const row: Record<string, unknown> = {};
    for (const { field, column } of columns) {
      if (!(column.name in image)) {
        // binlog_row_image=MINIMAL or NOBLOB leaves columns out: caching such a row
        // would plant a partial value. The follower checks the setting before it
        // starts; this is the proof, per row.
        throw new Error(`the binlog's image of ${column.name} is missing: binlog_row_image must be FULL`);
      }
      const value = image[column.name];
      row[field] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
    }
    return row as Row;
  };
}
