import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { migrateDatabase } from '../../src/db/migrate';
import { LIST_TRIGGERS, VERSIONED_TABLES } from '../../src/entities';

/** The server the tests use: MYSQL_URL's server, never its database. */
export const MYSQL_SERVER_URL = serverUrl(process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/throughline');
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Test databases are named `tl_test_<unix seconds>_<random>`, so stale ones can be found by age. */
export const TEST_DATABASE_PATTERN = /^tl_test_(\d+)_[0-9a-f]+$/;

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A new, migrated database of the caller's own; `drop()` removes it. On MYSQL_URL's
 * server, or on `serverUrl` (`mysql://…/`, e.g. a private server the test started).
 */
export async function createTestDatabase(serverUrl = MYSQL_SERVER_URL): Promise<TestDatabase> {
  const name = `tl_test_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  const url = `${serverUrl}${name}`;
  await migrateDatabase(url, { versionedTables: VERSIONED_TABLES, triggers: LIST_TRIGGERS });
  return {
    name,
    url,
    drop: async () => {
      const connection = await mysql.createConnection(serverUrl);
      try {
        await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await connection.end();
      }
    },
  };
}

/** A key prefix of the caller's own, so parallel files never see each other's keys. */
export function testKeyPrefix(): string {
  return `tl:test:${randomBytes(4).toString('hex')}:`;
}

function serverUrl(url: string): string {
  const u = new URL(url);
  u.pathname = '/';
  return u.toString();
}
