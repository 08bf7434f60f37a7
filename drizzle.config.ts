import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` diffs src/db/schema.ts against the committed snapshots in
// migrations/ and writes the next SQL file there; `npm run db:migrate` applies them
// (the service also applies them itself at start-up).
export default defineConfig({
  dialect: 'mysql',
  schema: './src/db/schema.ts',
  out: './migrations',
  dbCredentials: { url: process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/throughline' },
});
