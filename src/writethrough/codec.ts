import { getTableColumns } from 'drizzle-orm';
import type { MySqlTable } from 'drizzle-orm/mysql-core';

/**
 * Rows go to the cache as JSON and must come back as the same row: JSON turns a Date
 * into an ISO string, so the columns Drizzle reads as dates are turned back into
 * Dates on the way out. Derived from the table, so any table works without a codec
 * of its own.
 */
export interface RowCodec<Row> {
  encode(row: Row): string;
  decode(json: unknown): Row;
}

export function rowCodec<Row>(table: MySqlTable): RowCodec<Row> {
  const dateFields = Object.entries(getTableColumns(table))
    .filter(([, column]) => column.dataType === 'date')
    .map(([field]) => field);
  return {
    encode: (row) => JSON.stringify(row),
    decode: (json) => {
      const row = { ...(json as Record<string, unknown>) };
      for (const field of dateFields) {
        const value = row[field];
        if (typeof value === 'string') row[field] = new Date(value);
      }
      return row as Row;
    },
  };
}
