import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import codegenConfig from '../../examples/web/codegen';
import { UserDocument, UsersDocument, RenameUserDocument } from '../../examples/web/src/gql/graphql';
import {
  buildManifest,
  MANIFEST_PATH,
  MONITOR_OPERATIONS_PATH,
  manifestText,
  sha256,
} from '../../scripts/generate-persisted-queries';
import { loadSafelist } from '../../src/http/safelist';

// The safelist (persisted-queries.json) must hold exactly the texts the clients send:
// the server hashes what arrives, so a stale manifest refuses a client's operations
// in production. Like schema.test.ts for schema.graphql, these fail until the
// generated files are regenerated and committed.

const ROOT = resolve(__dirname, '../..');

describe('persisted-queries.json', () => {
  it('is what `npm run persisted-queries` writes now', () => {
    expect(readFileSync(MANIFEST_PATH, 'utf8'), 'run `npm run persisted-queries` and commit persisted-queries.json').toBe(manifestText());
  });

  it("lists the example client's and the /monitor page's operations, each under the sha256 of its exact text", () => {
    const { format, version, operations } = buildManifest();
    expect({ format, version }).toEqual({ format: 'apollo-persisted-query-manifest', version: 1 });
    expect(operations.map(({ name, type }) => `${type} ${name}`).sort()).toEqual([
      'mutation RenameUser',
      'query MonitorStatus',
      'query MonitorUnrepaired',
      'query User',
      'query Users',
      'subscription Monitor',
    ]);
    for (const operation of operations) expect(operation.id, operation.name).toBe(sha256(operation.body));

    // The very strings the clients send: the example client sends String(document),
    // monitor.js the values of operations.json.
    const bodies = new Map(operations.map((o) => [o.name, o.body]));
    expect(bodies.get('Users')).toBe(String(UsersDocument));
    expect(bodies.get('User')).toBe(String(UserDocument));
    expect(bodies.get('RenameUser')).toBe(String(RenameUserDocument));
    const monitor = JSON.parse(readFileSync(MONITOR_OPERATIONS_PATH, 'utf8')) as Record<string, string>;
    for (const [name, body] of Object.entries(monitor)) expect(bodies.get(name), name).toBe(body);
  });

  it('is accepted by the server’s safelist loader', () => {
    const safelist = loadSafelist(MANIFEST_PATH);
    expect(safelist.size).toBe(6);
    expect(safelist.get(sha256(String(UsersDocument)))).toBe(String(UsersDocument));
  });
});

describe("the example client's generated code (examples/web/src/gql/)", () => {
  it('is what `npm run example:codegen` writes now from schema.graphql and operations.graphql', async () => {
    const outputs = await generate({ ...codegenConfig, cwd: ROOT, silent: true }, false);
    expect(outputs.length).toBeGreaterThan(0);
    for (const { filename, content } of outputs) {
      expect(readFileSync(resolve(ROOT, filename), 'utf8'), `${filename}: run \`npm run example:codegen\` and commit src/gql/`).toBe(content);
    }
  });
});
