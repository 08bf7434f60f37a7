import { resolve } from 'node:path';
import mysql from 'mysql2/promise';
import Redis from 'ioredis';
import { ensureServices } from '../src/dev/services';
import { MYSQL_SERVER_URL, REDIS_URL, TEST_DATABASE_PATTERN } from './helpers/database';

/**
 * Runs once before any test file: makes sure MySQL and Redis answer (starting private
 * ones, as `npm start` does, on a machine where they are installed but not running),
 * and drops test databases that crashed runs left behind.
 */
export default async function setup(): Promise<void> {
  if (process.env.AUTO_START_SERVICES !== 'false') {
    await ensureServices({
      mysqlUrl: MYSQL_SERVER_URL,
      redisUrl: REDIS_URL,
      dataDir: resolve(__dirname, '..', '.local'),
      logger: { info: (_, msg) => console.log(msg), warn: (_, msg) => console.warn(msg) },
      // As `npm start`: at a URL other than the default, only when asked.
      startAtAnyLocalUrl: process.env.AUTO_START_SERVICES === 'true',
    });
  }
  await dropStaleTestDatabases();
  await checkRedis();
}

async function dropStaleTestDatabases(): Promise<void> {
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
}

async function checkRedis(): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {}); // connect() below reports it
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
