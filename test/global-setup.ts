import mysql from 'mysql2/promise';
import Redis from 'ioredis';
import { MYSQL_SERVER_URL, REDIS_URL, TEST_DATABASE_PATTERN } from './helpers/database';

/**
 * Runs once before any test file: checks that MySQL and Redis answer (with a message
 * that says what to do if not) and drops test databases that crashed runs left behind.
 */
export default async function setup(): Promise<void> {
  const connection = await mysql.createConnection({ uri: MYSQL_SERVER_URL, connectTimeout: 5_000 }).catch((err) => {
    throw new Error(`MySQL does not answer at ${redact(MYSQL_SERVER_URL)} (${err.code ?? err.message}); start it or set MYSQL_URL`);
  });
  try {
    const [rows] = await connection.query('SHOW DATABASES');
    const hourAgo = Date.now() / 1000 - 3600;
    for (const { Database: name } of rows as Array<{ Database: string }>) {
      const created = TEST_DATABASE_PATTERN.exec(name)?.[1];
      if (created && Number(created) < hourAgo) await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
    }
  } finally {
    await connection.end();
  }
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`Redis does not answer at ${redact(REDIS_URL)} (${(err as Error).message}); start it or set REDIS_URL`);
  } finally {
    redis.disconnect();
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@]*@/, '//$1:***@');
}
