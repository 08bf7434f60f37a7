import mysql from 'mysql2/promise';
import { migrateDatabase } from '../../src/db/migrate';
import { VERSIONED_TABLES } from '../../src/entities';

/** The counters read after each request: every statement, and the SELECTs, UPDATEs and transactions among them. */
export const STATUS_NAMES = ['Questions', 'Com_select', 'Com_update', 'Com_insert', 'Com_begin', 'Com_commit', 'Com_stmt_execute'] as const;
export type MysqlCounts = Record<(typeof STATUS_NAMES)[number], number>;

/**
 * The bench's database (`tl_bench_<ts>`, shared by every service variant) on the
 * MySQL server at `serverUrl`, and an admin connection of its own that reads the
 * server's global counters. Global, because the statements come from the services'
 * pools, which the bench cannot see into; so they only mean something while the
 * bench is the server's only busy client (a control reading with no request in
 * between tells how far that holds: see counters.ts).
 */
export interface BenchDatabase {
  name: string;
  url: string;
  admin: mysql.Connection;
  status(): Promise<MysqlCounts>;
  version(): Promise<string>;
  drop(): Promise<void>;
}

export async function createBenchDatabase(serverUrl: string, name = `tl_bench_${Date.now()}`): Promise<BenchDatabase> {
  const server = new URL(serverUrl);
  server.pathname = '/';
  const url = new URL(server);
  url.pathname = `/${name}`;
  await migrateDatabase(url.toString(), { versionedTables: VERSIONED_TABLES });
  const admin = await mysql.createConnection({ uri: server.toString() });
  const list = STATUS_NAMES.map((n) => `'${n}'`).join(', ');
  return {
    name,
    url: url.toString(),
    admin,
    async status() {
      const [rows] = await admin.query(`SHOW GLOBAL STATUS WHERE Variable_name IN (${list})`);
      const counts = Object.fromEntries(STATUS_NAMES.map((n) => [n, 0])) as MysqlCounts;
      for (const row of rows as Array<{ Variable_name: string; Value: string }>) {
        counts[row.Variable_name as keyof MysqlCounts] = Number(row.Value);
      }
      return counts;
    },
    async version() {
      const [rows] = await admin.query('SELECT VERSION() AS v');
      return (rows as Array<{ v: string }>)[0]!.v;
    },
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    },
  };
}

/**
 * The id of the latest statement of each connection using `database`, by connection
 * id: MariaDB's information_schema.PROCESSLIST.QUERY_ID. Unlike the global counters
 * of status(), it is not moved by clients of other databases on the same server (a
 * test suite, a dev server); it tells whether a connection ran anything, not how
 * much. Undefined on a server without that column (MySQL).
 */
export async function connectionQueryIds(admin: mysql.Connection, database: string): Promise<Map<number, number> | undefined> {
  try {
    const [rows] = await admin.query('SELECT ID AS id, QUERY_ID AS q FROM information_schema.PROCESSLIST WHERE DB = ?', [database]);
    return new Map((rows as Array<{ id: number; q: number }>).map((r) => [Number(r.id), Number(r.q)]));
  } catch (err) {
    if ((err as { code?: string }).code === 'ER_BAD_FIELD_ERROR') return undefined;
    throw err;
  }
}

/** The connections that ran a statement between two connectionQueryIds() readings, or came or went. */
export function connectionsThatRan(before: Map<number, number>, after: Map<number, number>): number {
  let ran = 0;
  for (const [id, q] of after) if (before.get(id) !== q) ran++;
  for (const id of before.keys()) if (!after.has(id)) ran++;
  return ran;
}
