import { and, eq, getTableColumns, Param, Placeholder, sql, SQL, type Query } from 'drizzle-orm';
import { MySqlDialect, type MySqlColumn, type MySqlTable } from 'drizzle-orm/mysql-core';
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import type { Database } from '../db/client';
import type { Transaction } from './unit-of-work';
import type { VersionedTable } from './entity';
import type { Row } from './rows';
import { WriteIntents } from './write-intents';

/**
 * A statement Drizzle has already built: executing it hands Drizzle's session the SQL
 * text and parameters as they are, instead of walking the query builder's tree again.
 * (`toQuery` is what the session calls to turn any SQL into text and parameters.)
 */
class BuiltQuery extends SQL {
  constructor(private readonly query: Query) {
    super([]);
  }

  override toQuery(): Query {
    return this.query;
  }
}

/** A statement's text, and for each `?` in it, the value it takes and how to encode it. */
interface Template {
  sql: string;
  params: Array<{ name: string; encoder?: MySqlColumn }>;
}

/** An update's statements as one text; MySQL answers one result per statement, the row read back at `selectAt`. */
interface UpdateTemplate extends Template {
  selectAt: number;
}

const COMMIT: Template = { sql: 'commit', params: [] };

/**
 * The statements every write runs, `UPDATE … WHERE id = ?` and `SELECT … WHERE id = ?`,
 * built by Drizzle once per table (and per set of patched columns) rather than on every
 * call: building them was a fifth of an updateUser's CPU (bench/findings.md), spent
 * while the transaction held the row's lock. Drizzle still writes the SQL, runs it on
 * the transaction's connection, logs it, and encodes and decodes every value with the
 * column's own mapping, so the statements are the ones its builder would send.
 */
export class WriteStatements<T extends VersionedTable> {
  private readonly selectById: Template;
  private readonly updates = new Map<string, UpdateTemplate>();
  /** Each column: its field, its name in MySQL's answer, and its decoder. */
  private readonly columns: Array<[field: string, name: string, column: MySqlColumn]>;
  /** Columns Drizzle stamps on every UPDATE (`$onUpdateFn`), such as updatedAt. */
  private readonly stamped: Array<[field: string, column: MySqlColumn]>;

  /** The intent an update records in the same round trip (write-intents.ts). */
  private readonly updateIntent: Template;

  constructor(
    private readonly db: Database,
    private readonly table: T,
    private readonly entity: string,
  ) {
    const columns = Object.entries(getTableColumns(table as MySqlTable)) as Array<[string, MySqlColumn]>;
    this.columns = columns.map(([field, column]) => [field, column.name, column]);
    this.stamped = columns.filter(([, column]) => column.onUpdateFn !== undefined);
    this.selectById = template(
      db
        .select()
        .from(table as MySqlTable)
        .where(eq(table.id, sql.placeholder('id')))
        .toSQL(),
    );
    this.updateIntent = template(new MySqlDialect().sqlToQuery(WriteIntents.updateOf(table)));
  }

  /** The row with this id as the transaction sees it, or undefined. */
  async select(tx: Transaction, id: number): Promise<Row<T> | undefined> {
    const [rows] = (await tx.execute(bind(this.selectById, { id }))) as unknown as [RowDataPacket[]];
    return rows[0] === undefined ? undefined : this.decode(rows[0]);
  }

  /**
   * Sets the patched fields, stamps the `$onUpdateFn` columns and bumps the version,
   * where the id (and, if given, the version) match; reads the row back; with
   * `intent`, records the write's intent; and COMMITs: all in one round trip (the pool
   * allows multiple statements, db/client.ts). On a row many writers want, the row's
   * lock is held from the UPDATE to the COMMIT, and a round trip between them (the
   * answer crossing the network, this process getting round to it among everything
   * else it serves, the COMMIT crossing back) was most of that time; now MySQL holds
   * it only while it runs the four statements. Returns how many rows the UPDATE
   * matched and the row as it is now (the current one if the UPDATE matched none).
   *
   * Committed here, so the caller's transaction has nothing left to do: Drizzle's own
   * COMMIT after it finds none open and does nothing. If a statement fails, MySQL runs
   * none after it (no COMMIT), and Drizzle's ROLLBACK undoes those before it. A miss
   * (no row, or another version) changes nothing, records no intent, and commits
   * nothing.
   */
  async updateAndRead(
    tx: Transaction,
    id: number,
    patch: Record<string, unknown>,
    options: { expectedVersion?: number; intent?: boolean } = {},
  ): Promise<{ matched: number; row: Row<T> | undefined }> {
    const { expectedVersion, intent = false } = options;
    const fields = this.columns.map(([field]) => field).filter((field) => patch[field] !== undefined);
    const values: Record<string, unknown> = { ...patch, id, expectedVersion, entity: this.entity };
    for (const [field, column] of this.stamped) if (values[field] === undefined) values[field] = column.onUpdateFn!();
    const statement = this.updateTemplate(fields, expectedVersion !== undefined, intent);
    const [results] = (await tx.execute(bind(statement, values))) as unknown as [Array<ResultSetHeader | RowDataPacket[]>];
    const header = results[0] as ResultSetHeader;
    const rows = results[statement.selectAt] as RowDataPacket[];
    return { matched: header.affectedRows, row: rows[0] === undefined ? undefined : this.decode(rows[0]) };
  }

  /**
   * The UPDATE, the SELECT, with `intent` the intent's INSERT, and the COMMIT, built the
   * first time a set of fields is patched; there are at most 2^fields × 4 of them.
   */
  private updateTemplate(fields: string[], versioned: boolean, intent: boolean): UpdateTemplate {
    const key = `${fields.join(',')}${versioned ? '@version' : ''}${intent ? '+intent' : ''}`;
    let built = this.updates.get(key);
    if (!built) {
      const set: Record<string, unknown> = Object.fromEntries(fields.map((field) => [field, sql.placeholder(field)]));
      for (const [field] of this.stamped) set[field] ??= sql.placeholder(field);
      set.version = sql`${this.table.version} + 1`;
      const byId = eq(this.table.id, sql.placeholder('id'));
      const where = versioned ? and(byId, eq(this.table.version, sql.placeholder('expectedVersion'))) : byId;
      const update = template(this.db.update(this.table).set(set as never).where(where).toSQL());
      // The intent right after the UPDATE: it reads what the UPDATE changed (write-intents.ts).
      const parts = [update, ...(intent ? [this.updateIntent] : []), this.selectById, COMMIT];
      built = { sql: parts.map((part) => part.sql).join('; '), params: parts.flatMap((part) => part.params), selectAt: parts.indexOf(this.selectById) };
      this.updates.set(key, built);
    }
    return built;
  }

  /** What Drizzle's own result mapping does: each column decoded by its column, null left null. */
  private decode(raw: RowDataPacket): Row<T> {
    const row: Record<string, unknown> = {};
    for (const [field, name, column] of this.columns) {
      const value = raw[name];
      row[field] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
    }
    return row as Row<T>;
  }
}

/** Reads which placeholder each `?` of a built statement stands for, and its encoder. */
function template(query: Query): Template {
  const params = query.params.map((p) => {
    if (p instanceof Placeholder) return { name: p.name };
    if (p instanceof Param && p.value instanceof Placeholder) return { name: p.value.name, encoder: p.encoder as MySqlColumn };
    throw new Error(`a prebuilt statement has a fixed parameter (${String(p)}): give it a placeholder (${query.sql})`);
  });
  return { sql: query.sql, params };
}

/** The statement with its values, encoded as Drizzle encodes a parameter (null stays null). */
function bind(t: Template, values: Record<string, unknown>): SQL {
  const params = t.params.map(({ name, encoder }) => {
    const value = values[name];
    return value === null || value === undefined || !encoder ? value : encoder.mapToDriverValue(value);
  });
  return new BuiltQuery({ sql: t.sql, params });
}
