import { loadConfig } from '../src/config';
import { migrateDatabase } from '../src/db/migrate';

/** `npm run db:migrate`: creates MYSQL_URL's database if needed and applies every pending migration. */
async function run(): Promise<void> {
  const config = loadConfig(process.env);
  await migrateDatabase(config.mysql.url);
  console.log(`migrations applied to ${new URL(config.mysql.url).pathname.slice(1)}`);
}

run().catch((err: Error) => {
  console.error(`migration failed: ${err.message}`);
  process.exit(1);
});
