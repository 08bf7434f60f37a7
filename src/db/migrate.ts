import { resolve } from 'node:path';
import { sql } from 'drizzle-orm';
import { migrate } from 'drizzle-orm/mysql2/migrator';
import mysql from 'mysql2/promise';
import { createDatabase, createPool } from './client';
import { ensureTriggers, ensureVersionTriggers, type VersionTrigger } from './version-triggers';

/** The committed drizzle-kit output, from both src/db and dist/db. */
export const MIGRATIONS_FOLDER = resolve(__dirname, '../../migrations');

export interface MigrateOptions {
  /** drizzle-kit's output to apply; the committed one unless given. */
  migrationsFolder?: string;
  /**
   * Tables whose `version` the database keeps (db/version-triggers.ts): the app's
   * registry names them; the core does not know the app's tables.
   */
  versionedTables?: readonly string[];
  /** More BEFORE triggers to keep as worded: the association lists' version bumps (writethrough/list-triggers.ts). */
  triggers?: readonly VersionTrigger[];
}

/**
 * Creates the database named in `url` if it is missing, then applies every pending
 * migration and puts the version triggers on `versionedTables`. Several instances may
 * start at once: a named MySQL lock makes them take turns, so each migration runs
 * exactly once.
 */
export async function migrateDatabase(url: string, options: MigrateOptions = {}): Promise<void> {
  const { migrationsFolder = MIGRATIONS_FOLDER, versionedTables = [], triggers = [] } = options;
  await ensureDatabase(url);
  const pool = createPool({ url, poolSize: 1 });
  try {
    const db = createDatabase(pool);
    // One pooled connection: the lock, the migrations, the triggers and the unlock share a session.
    const [[row]] = (await db.execute(sql`SELECT GET_LOCK('throughline_migrate', 60) AS got`)) as unknown as [
      Array<{ got: number | null }>,
    ];
    if (row?.got !== 1) throw new Error('timed out after 60 s waiting for another instance to finish migrating');
    try {
      await migrate(db, { migrationsFolder });
      // After the migrations, which create the tables; still under the lock.
      await ensureVersionTriggers(db, versionedTables);
      await ensureTriggers(db, triggers);
    } finally {
      await db.execute(sql`SELECT RELEASE_LOCK('throughline_migrate')`);
    }
  } finally {
    await pool.end();
  }
}

export async function ensureDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(name)) {
    throw new Error(`MYSQL_URL must name a database of letters, digits, _ or $ (got "${name}")`);
  }
  u.pathname = '/';
  const connection = await mysql.createConnection({ uri: u.toString(), connectTimeout: 5_000 });
  try {
    await connection.query(
      `CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  } finally {
    await connection.end();
  }
}
