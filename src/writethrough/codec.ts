import { getTableColumns } from 'drizzle-orm';
import type { MySqlTable } from 'drizzle-orm/mysql-core';

/**
 * Rows go to the cache as JSON and must come back as the same row. Date columns are
 * written as epoch milliseconds: JSON would make them ISO strings, and turning a
 * number back into a Date costs a fraction of parsing a date string, on every field
 * of every row of every warm read (a third of decoding a batch, measured by
 * `npm run bench`'s profile). ISO strings, as earlier releases wrote them, are still
 * read. Derived from the table, so any table works without a codec of its own.
 */
export interface RowCodec<Row> {
  encode(row: Row): string;
  /** `json` must be fresh from JSON.parse and the caller's alone: it becomes the row. */
  decode(json: unknown): Row;
}

export function rowCodec<Row>(table: MySqlTable): RowCodec<Row> {
  const dateFields = Object.entries(getTableColumns(table))
    .filter(([, column]) => column.dataType === 'date')
    .map(([field]) => field);
  return {
    encode: (row) => {
      const fields: Record<string, unknown> = { ...(row as Record<string, unknown>) };
      for (const field of dateFields) {
        const value = fields[field];
        if (value instanceof Date) fields[field] = value.getTime();
      }
      return JSON.stringify(fields);
    },
    decode: (json) => {
      // Converted in place: a copy would double the garbage of every warm read.
      const row = json as Record<string, unknown>;
      for (const field of dateFields) {
        const value = row[field];
        if (typeof value === 'number' || typeof value === 'string') row[field] = new Date(value);
      }
      return row as Row;
    },
  };
}
