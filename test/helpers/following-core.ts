import mysql from 'mysql2/promise';
import { startBinlogMariadb, type BinlogMariadb } from './binlog-mariadb';
import { createTestCore, type TestCore, type TestCoreOptions } from './core';
import { createTestDatabase } from './database';
import { pollUntil } from './poll';

/** A test core whose follower follows a private MariaDB's binlog, and a SQL session behind the API. */
export interface FollowingCore {
  server: BinlogMariadb;
  t: TestCore;
  /** A plain mysql2 connection to the core's database: writes behind the API. */
  sql: mysql.Connection;
  close(): Promise<void>;
}

/** Starts the server, a database on it and a core following it; resolves once the follower follows (`changes: undefined`: a core with no follower). */
export async function startFollowingCore(options: Omit<TestCoreOptions, 'database'> = {}): Promise<FollowingCore> {
  const server = await startBinlogMariadb();
  const database = await createTestDatabase(server.serverUrl);
  const t = await createTestCore({ changes: {}, ...options, database });
  const sql = await mysql.createConnection(database.url);
  if (t.core.follower) await pollUntil('the follower to follow', () => t.core.follower!.status().state === 'following');
  return {
    server,
    t,
    sql,
    async close() {
      await sql.end();
      await t.close();
      await database.drop();
      await server.dispose();
    },
  };
}
