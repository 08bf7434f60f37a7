import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { printSchema } from 'graphql';
import { buildGraphQLSchema } from '../src/graphql/schema';

/** `npm run schema`: writes the SDL the type-graphql classes build to schema.graphql. */
async function run(): Promise<void> {
  const sdl = printSchema(await buildGraphQLSchema());
  const file = resolve(__dirname, '..', 'schema.graphql');
  writeFileSync(file, `${sdl}\n`);
  console.log(`wrote ${file}`);
}

run().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
