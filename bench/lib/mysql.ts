import mysql from 'mysql2/promise';
import { migrateDatabase } from '../../src/db/migrate';

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
  await migrateDatabase(url.toString());
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
