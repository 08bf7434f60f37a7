import type { Logger as DrizzleLogger } from 'drizzle-orm';
import { drizzle, type MySql2Database } from 'drizzle-orm/mysql2';
import mysql, { type Pool } from 'mysql2/promise';
import { withDeadlines, type MySqlDeadlines } from './deadlines';
import * as schema from './schema';

export type Database = MySql2Database<typeof schema>;

export interface PoolSettings {
  url: string;
  poolSize: number;
}

/**
 * The pool is made here, at the edge, and handed to Drizzle (as drizzle-orm's own
 * drivers expect), so tests and tools can build the same graph on their own pool.
 */
export function createPool({ url, poolSize }: PoolSettings): Pool {
  const pool = mysql.createPool({
    uri: url,
    connectionLimit: poolSize,
    // An unreachable MySQL should fail a request in seconds, not hang it.
    connectTimeout: 5_000,
    enableKeepAlive: true,
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
    // BIGINT ids and versions fit in a JS number; anything past 2^53 comes back as a
    // string instead of silently losing digits.
    supportBigNumbers: true,
    // mysql2's promise API otherwise captures the caller's stack for every statement,
    // in case it fails (~20 µs each, 4 % of an updateUser's CPU, bench/profile.ts).
    // A failed statement's error keeps its code, message and SQL; the log line of the
    // request says where it came from.
    trace: false,
    // An update sends its UPDATE, intent, the SELECT that reads the row back and its
    // COMMIT in one round trip (writethrough/statements.ts), which MySQL runs only with this flag. Every value
    // still travels as a parameter that mysql2 escapes; no statement is built from
    // input, which is what makes a second statement in one string dangerous elsewhere.
    multipleStatements: true,
  });
  // Drizzle reads DATETIME columns as UTC; make the server's CURRENT_TIMESTAMP agree.
  pool.pool.on('connection', (connection) => {
    connection.query("SET time_zone = '+00:00'");
  });
  return pool;
}

/**
 * With `deadlines`, every statement and transaction Drizzle runs is bounded (db/deadlines.ts);
 * without (migrations, tools), each waits as long as MySQL takes.
 */
export function createDatabase(pool: Pool, logger?: DrizzleLogger, deadlines?: MySqlDeadlines): Database {
  const client = deadlines ? withDeadlines(pool, deadlines) : pool;
  return drizzle({ client, schema, mode: 'default', ...(logger ? { logger } : {}) });
}
