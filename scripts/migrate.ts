import { loadConfig } from '../src/config';
import { migrateDatabase } from '../src/db/migrate';
import { LIST_TRIGGERS, VERSIONED_TABLES } from '../src/entities';
import { loadEnvFile } from '../src/env-file';
import { explainMysqlError, explainStartupError } from '../src/startup-errors';

/**
 * `npm run db:migrate`: creates MYSQL_URL's database if needed and applies every
 * pending migration; MYSQL_URL read as the service reads it (the environment, then
 * the settings file), a mistake put in the service's words.
 */
async function run(): Promise<void> {
  loadEnvFile();
  const { url } = loadConfig(process.env).mysql;
  await migrateDatabase(url, { versionedTables: VERSIONED_TABLES, triggers: LIST_TRIGGERS }).catch((err: unknown) => {
    throw explainMysqlError(err, url);
  });
  console.log(`migrations applied to ${new URL(url).pathname.slice(1)}`);
}

run().catch((err: unknown) => {
  console.error(explainStartupError(err) ?? `migration failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
