import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { buildSchema, Kind, parse, validate, type OperationDefinitionNode } from 'graphql';
import * as exampleClient from '../examples/web/src/gql/graphql';

/**
 * `npm run persisted-queries`: writes persisted-queries.json, the safelist that
 * `PERSISTED_QUERIES_ONLY=true` runs from, in Apollo's persisted query manifest format.
 *
 * Each body is the exact text a client sends (the server hashes what arrives, so one
 * changed space would be another operation), read from the same place the client
 * reads it:
 *  - the example web client: the TypedDocumentStrings codegen wrote into
 *    examples/web/src/gql/graphql.ts, which examples/web/src/client.ts sends as
 *    `String(document)`;
 *  - the /monitor page: src/http/monitor/operations.json, which monitor.js loads.
 * Another client joins by adding a source below (a JSON file of name → exact text is
 * the simplest). A test fails while the committed manifest is not what this writes.
 */

const ROOT = resolve(__dirname, '..');
export const MANIFEST_PATH = resolve(ROOT, 'persisted-queries.json');
export const MONITOR_OPERATIONS_PATH = resolve(ROOT, 'src/http/monitor/operations.json');

export interface ManifestOperation {
  id: string;
  name: string;
  type: 'query' | 'mutation' | 'subscription';
  body: string;
}

export interface Manifest {
  format: 'apollo-persisted-query-manifest';
  version: 1;
  operations: ManifestOperation[];
}

interface Source {
  client: string;
  /** The exact texts the client sends. */
  bodies: string[];
}

/** The example client's operations: every exported document that is not a fragment. */
function exampleClientBodies(): string[] {
  return (Object.values(exampleClient) as unknown[])
    .filter((value) => value instanceof exampleClient.TypedDocumentString)
    .map((document) => String(document))
    .filter((body) => parse(body).definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION));
}

/** A JSON object of operation name → exact text. */
function jsonBodies(path: string): string[] {
  const operations = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  return Object.entries(operations).map(([name, body]) => {
    if (typeof body !== 'string') throw new Error(`${relative(ROOT, path)}: ${name} is not a string`);
    if (operationOf(body, path).name?.value !== name) throw new Error(`${relative(ROOT, path)}: the text under ${name} names another operation`);
    return body;
  });
}

export function sources(): Source[] {
  return [
    { client: 'examples/web', bodies: exampleClientBodies() },
    { client: '/monitor', bodies: jsonBodies(MONITOR_OPERATIONS_PATH) },
  ];
}

export const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

function operationOf(body: string, where: string): OperationDefinitionNode {
  const operations = parse(body).definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operations.length !== 1 || !operations[0]!.name) throw new Error(`${where}: each text must hold exactly one named operation`);
  return operations[0]!;
}

/**
 * The manifest for the operations of every source, sorted by name: each checked
 * against the committed schema.graphql, names unique.
 */
export function buildManifest(): Manifest {
  const schema = buildSchema(readFileSync(resolve(ROOT, 'schema.graphql'), 'utf8'));
  const byName = new Map<string, ManifestOperation>();
  for (const { client, bodies } of sources()) {
    for (const body of bodies) {
      const operation = operationOf(body, client);
      const name = operation.name!.value;
      const errors = validate(schema, parse(body));
      if (errors.length > 0) throw new Error(`${client}: ${name} does not fit schema.graphql: ${errors.map((e) => e.message).join('; ')}`);
      const existing = byName.get(name);
      if (existing && existing.body !== body) throw new Error(`${client}: another client already has an operation named ${name}`);
      byName.set(name, { id: sha256(body), name, type: operation.operation, body });
    }
  }
  const operations = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { format: 'apollo-persisted-query-manifest', version: 1, operations };
}

/** The file's text, as committed. */
export function manifestText(manifest: Manifest = buildManifest()): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

if (require.main === module) {
  const manifest = buildManifest();
  writeFileSync(MANIFEST_PATH, manifestText(manifest));
  console.log(`${relative(process.cwd(), MANIFEST_PATH)}: ${manifest.operations.length} operations`);
  for (const { id, name, type } of manifest.operations) console.log(`  ${id.slice(0, 12)}  ${type.padEnd(12)} ${name}`);
}
