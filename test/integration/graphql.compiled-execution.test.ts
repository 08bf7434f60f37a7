import { OperationTypeNode, execute, parse, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Access } from '../../src/graphql/auth';
import { createCompiledExecutor, type ExecutorUsed, type Operation } from '../../src/graphql/compiled-execution';
import { createContext } from '../../src/graphql/context';
import { buildGraphQLSchema } from '../../src/graphql/schema';
import { createTestCore, silentLogger, type TestCore } from '../helpers/core';

/**
 * The compiled executor against graphql-js's, on the same schema, core and data:
 * every answer must be the same, errors included. (The API tests also run whole
 * under each executor: see vitest.config.ts.)
 */
let t: TestCore;
let schema: GraphQLSchema;
const everyScope: Access = { credentials: { kind: 'verified', principal: { subject: 'test', scopes: new Set(['read', 'write', 'admin']) }, expiresAt: undefined }, requireAuthForReads: true };
const anonymous: Access = { credentials: { kind: 'anonymous' }, requireAuthForReads: true };
const status = async () => {
  throw new Error('cacheStatus is not part of these tests');
};

beforeAll(async () => {
  t = await createTestCore();
  schema = await buildGraphQLSchema();
  for (const i of [1, 2, 3]) await t.core.users.create({ name: `user ${i}`, email: `u${i}@example.com`, bio: i === 2 ? null : `bio ${i}` });
  for (const i of [1, 2]) await t.core.products.create({ sku: `SKU-${i}`, name: `product ${i}`, priceCents: 100 * i, stock: 50 });
  await t.core.ordering.place({ userId: 1, productId: 2, quantity: 3 });
  await t.core.ordering.place({ userId: 3, productId: 1, quantity: 1 });
});
afterAll(async () => {
  await t?.close();
});

function recorder() {
  const used: ExecutorUsed[] = [];
  const compiledCounts: number[] = [];
  const warnings: string[] = [];
  return {
    used,
    compiledCounts,
    warnings,
    observer: { executed: (e: ExecutorUsed) => used.push(e), compiled: (n: number) => compiledCounts.push(n) },
    logger: { warn: (_: object, msg: string) => warnings.push(msg) },
  };
}

function operation(query: string, variables?: Record<string, unknown>, options: { operationName?: string; access?: Access } = {}): Operation {
  const document = parse(query);
  const definition = document.definitions.find((d) => d.kind === 'OperationDefinition' && (!options.operationName || d.name?.value === options.operationName));
  return {
    queryHash: query,
    document,
    operationName: options.operationName,
    kind: definition?.kind === 'OperationDefinition' ? definition.operation : OperationTypeNode.QUERY,
    variables,
    context: createContext(t.core, options.access ?? everyScope, status, silentLogger),
  };
}

/**
 * What a client would see of a result, plus what Apollo reads of each error: the
 * class it came from, and `extensions` as an object (Apollo reads `extensions.code`).
 */
function visible(result: ExecutionResult) {
  return {
    ...JSON.parse(JSON.stringify(result)),
    causes: result.errors?.map((e) => e.originalError?.constructor.name),
    extensions: result.errors?.map((e) => typeof e.extensions),
  };
}

const standard = (op: Operation) =>
  execute({ schema, document: op.document, operationName: op.operationName, variableValues: op.variables, contextValue: op.context });

// Operations that read, or fail without changing anything: each runs under both executors.
const SAME_ANSWERS: Array<[string, string, Record<string, unknown>?, { operationName?: string; access?: Access }?]> = [
  ['one user, every field', '{ user(id: "1") { id name email bio version createdAt updatedAt } }'],
  ['users with fragments, a null bio and missing ids', 'query($ids: [ID!]!) { users(ids: $ids) { id ...U } } fragment U on User { name bio }', { ids: ['2', '999', '1', '3'] }],
  ['nested orders with their users and products', '{ recentOrders(limit: 5) { id quantity totalCents createdAt user { id name } product { id sku stock version } } }'],
  ['aliases and @include/@skip', 'query($a: Boolean!, $b: Boolean!) { u: user(id: "2") { id name @include(if: $a) email @skip(if: $b) } p: product(id: "1") { ... on Product { id name } } }', { a: true, b: true }],
  ['an absent entity is null', '{ __typename user(id: "999") { id } order(id: "777") { id } }'],
  ['a malformed id is BAD_USER_INPUT', '{ user(id: "abc") { id } }'],
  ['an out-of-range limit is BAD_USER_INPUT', '{ recentOrders(limit: 0) { id } }'],
  ['an update of nobody is NOT_FOUND', 'mutation { updateUser(id: "999", input: { name: "x" }) { id } }'],
  ['an invalid input fails class-validator', 'mutation { createUser(input: { name: "", email: "not an email" }) { id } }'],
  ['an order beyond the stock is a CONFLICT', 'mutation { placeOrder(input: { userId: "1", productId: "1", quantity: 100000 }) { id } }'],
  ['a stale expectedVersion is a CONFLICT', 'mutation { updateUser(id: "1", input: { name: "x" }, expectedVersion: 99) { id } }'],
  ['an anonymous read is UNAUTHENTICATED when reads need a token', '{ user(id: "1") { id } }', undefined, { access: anonymous }],
  ['a named operation of several', 'query A { user(id: "1") { id } } query B { product(id: "2") { id name } }', undefined, { operationName: 'B' }],
  ['introspection', '{ __type(name: "User") { name fields { name type { name kind ofType { name } } } } }'],
];

describe('the compiled executor', () => {
  it.each(SAME_ANSWERS)('answers as graphql-js does: %s', async (_, query, variables, options) => {
    const r = recorder();
    const executor = createCompiledExecutor(schema, { cacheSize: 10, compileAfter: 0 }, r);
    const compiled = await executor.run(operation(query, variables, options));
    expect(r.used).toEqual(['jit']);
    expect(visible(compiled)).toEqual(visible(await standard(operation(query, variables, options))));
  });

  it('runs a mutation compiled, once, and the change reads back through graphql-js', async () => {
    const r = recorder();
    const executor = createCompiledExecutor(schema, { cacheSize: 10, compileAfter: 0 }, r);
    const before = (await t.core.users.load([2]))[0]!;
    const result = await executor.run(operation('mutation { updateUser(id: "2", input: { name: "renamed" }) { id name version } }'));
    expect(r.used).toEqual(['jit']);
    expect(result).toEqual({ data: { updateUser: { id: '2', name: 'renamed', version: before.version + 1 } } });
    const read = await standard(operation('{ user(id: "2") { name version } }'));
    expect(read.data).toEqual({ user: { name: 'renamed', version: before.version + 1 } });
  });

  it('compiles an operation only when it comes back, then runs it compiled', async () => {
    const r = recorder();
    const executor = createCompiledExecutor(schema, { cacheSize: 10, compileAfter: 1 }, r);
    const query = '{ user(id: "3") { id name } }';
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await executor.run(operation(query)));
    expect(r.used).toEqual(['standard', 'jit', 'jit']);
    expect(r.compiledCounts).toEqual([1]);
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
  });

  it('keeps one compiled function per operation name of a document', async () => {
    const r = recorder();
    const executor = createCompiledExecutor(schema, { cacheSize: 10, compileAfter: 0 }, r);
    const query = 'query A { user(id: "1") { name } } query B { product(id: "1") { name } }';
    const a = await executor.run(operation(query, undefined, { operationName: 'A' }));
    const b = await executor.run(operation(query, undefined, { operationName: 'B' }));
    expect([a.data, b.data]).toEqual([{ user: { name: 'user 1' } }, { product: { name: 'product 1' } }]);
    expect(executor.size()).toBe(2);
  });

  it('never keeps more than cacheSize compiled operations', async () => {
    const r = recorder();
    const executor = createCompiledExecutor(schema, { cacheSize: 5, compileAfter: 0 }, r);
    for (let i = 0; i < 40; i++) {
      const result = await executor.run(operation(`query Q${i} { user(id: "${(i % 3) + 1}") { id } }`));
      expect(result).toEqual({ data: { user: { id: String((i % 3) + 1) } } });
    }
    expect(executor.size()).toBe(5);
    expect(Math.max(...r.compiledCounts)).toBe(5);
  });

  it('answers variables graphql-jit refuses through graphql-js, with the errors graphql-js gives', async () => {
    const r = recorder();
    const executor = createCompiledExecutor(schema, { cacheSize: 10, compileAfter: 0 }, r);
    const query = 'query($ids: [ID!]!) { users(ids: $ids) { id } }';
    const result = await executor.run(operation(query, { ids: null }));
    expect(r.used).toEqual(['standard']);
    expect(visible(result)).toEqual(visible(await standard(operation(query, { ids: null }))));
    expect(result.errors?.[0]?.nodes?.[0]?.kind).toBe('VariableDefinition');
  });

  it('runs on graphql-js what graphql-jit cannot compile, and warns once', async () => {
    for (const compile of [() => ({ errors: [] }), () => { throw new Error('compiler bug'); }]) {
      const r = recorder();
      const executor = createCompiledExecutor(schema, { cacheSize: 10, compileAfter: 0 }, { ...r, compile: compile as never });
      const query = '{ user(id: "1") { id name } }';
      for (let i = 0; i < 3; i++) expect((await executor.run(operation(query))).data).toEqual({ user: { id: '1', name: 'user 1' } });
      expect(r.used).toEqual(['standard', 'standard', 'standard']);
      expect(r.warnings).toHaveLength(1);
    }
  });

  it('leaves subscriptions to graphql-js', async () => {
    const r = recorder();
    const executor = createCompiledExecutor(schema, { cacheSize: 10, compileAfter: 0 }, r);
    await executor.run(operation('subscription { writeThroughFailures { id } }'));
    expect(r.used).toEqual(['standard']);
    expect(executor.size()).toBe(0);
  });
});
