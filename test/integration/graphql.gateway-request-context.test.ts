import { HeaderMap, type GraphQLRequestContext } from '@apollo/server';
import { parse, type OperationDefinitionNode } from 'graphql';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apolloGatewayContextModule, gatewayRequestContext, installGatewayRequestContext } from '../../src/graphql/gateway-request-context';
import { buildGraphQLSchema } from '../../src/graphql/schema';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Compiled execution runs behind Apollo's gateway hook, and Apollo builds what the
 * executor receives with a function this service replaces (see the module's note on
 * garbage collection). The replacement must build the same thing.
 */
const require = createRequire(__filename);
type Make = (rc: unknown, server: unknown, internals: unknown) => Record<string, any>;

/** Apollo's own function, from a fresh copy of its module (the loaded copy may already be replaced). */
function apollosOwn(): Make {
  const path = apolloGatewayContextModule();
  const loaded = require.cache[path];
  delete require.cache[path];
  try {
    return (require(path) as { makeGatewayGraphQLRequestContext: Make }).makeGatewayGraphQLRequestContext;
  } finally {
    if (loaded) require.cache[path] = loaded;
  }
}

const server = { logger: console, cache: { get: async () => undefined, set: async () => {}, delete: async () => true } };

async function requestContext(search: string) {
  const source = 'query Named($ids: [ID!]!) { users(ids: $ids) { id } }';
  const document = parse(source);
  return {
    request: { query: source, operationName: 'Named', variables: { ids: ['1'] }, extensions: { e: 1 }, http: { method: 'POST', headers: new HeaderMap([['x-one', '1']]), search, body: {} } },
    response: { http: { headers: new HeaderMap([['x-out', 'a']]), status: undefined as number | undefined } },
    schema: await buildGraphQLSchema(),
    contextValue: { who: 'context' },
    queryHash: 'hash',
    document,
    source,
    operationName: 'Named',
    operation: document.definitions[0] as OperationDefinitionNode,
    errors: undefined,
    metrics: { startHrTime: [1, 2] },
    overallCachePolicy: { maxAge: 0 },
    requestIsBatched: false,
  } as unknown as GraphQLRequestContext<object>;
}

describe('gatewayRequestContext', () => {
  it("builds what Apollo's own function builds, field for field", async () => {
    for (const search of ['', 'a=1', '?a=1']) {
      const rc = await requestContext(search);
      const theirs = apollosOwn()(rc, server, { includeStacktraceInErrorResponses: true });
      const ours = gatewayRequestContext(rc, server, { includeStacktraceInErrorResponses: true });
      expect(Object.keys(ours)).toEqual(Object.keys(theirs));
      const { request: ourRequest, response: ourResponse, ...ourRest } = ours as Record<string, any>;
      const { request: theirRequest, response: theirResponse, ...theirRest } = theirs;
      expect(ourRest).toEqual(theirRest);
      expect({ ...ourRequest, http: undefined }).toEqual({ ...theirRequest, http: undefined });
      expect(ourRequest.http.method).toBe(theirRequest.http.method);
      expect(ourRequest.http.url).toBe(theirRequest.http.url);
      expect([...ourRequest.http.headers]).toEqual([...theirRequest.http.headers]);
      expect([...ourResponse.http.headers]).toEqual([...theirResponse.http.headers]);
      expect(ourResponse.http.status).toBe(theirResponse.http.status);
    }
  });

  it("reads and writes the response's status and headers through to Apollo's response", async () => {
    const rc = await requestContext('');
    const { response, request } = gatewayRequestContext(rc, server, {});
    response!.http!.status = 207;
    expect(rc.response.http.status).toBe(207);
    rc.response.http.status = 208;
    expect(response!.http!.status).toBe(208);
    response!.http!.headers.append('x-out', 'b');
    response!.http!.headers.set('x-new', 'c');
    response!.http!.headers.delete('x-gone');
    expect([...rc.response.http.headers]).toEqual([['x-out', 'a, b'], ['x-new', 'c']]);
    expect(request.http!.headers.get('x-one')).toBe('1');
    expect(request.http!.headers.get('x-none')).toBeNull();
    expect(request.http!.headers.has('x-one')).toBe(true);
    expect([...request.http!.headers]).toEqual([['x-one', '1']]);
  });

  it('copies only the request fields the client sent', async () => {
    const rc = await requestContext('');
    const request = { query: '{ a }' } as GraphQLRequestContext<object>['request'];
    const { request: ours } = gatewayRequestContext({ ...rc, request }, server, {});
    expect(ours).toEqual({ query: '{ a }' });
    expect(Object.keys(ours)).toEqual(Object.keys(apollosOwn()({ ...rc, request }, server, {}).request));
  });
});

describe('installGatewayRequestContext', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ graphql: { executor: { kind: 'jit', cacheSize: 10, compileAfter: 0 } } });
    await t.core.users.create({ name: 'Ada', email: 'ada@example.com', bio: null });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("stands in for Apollo's function once a server on compiled execution starts, and answers through it", async () => {
    const loaded = require(apolloGatewayContextModule()) as { makeGatewayGraphQLRequestContext: unknown };
    expect(loaded.makeGatewayGraphQLRequestContext).toBe(gatewayRequestContext);
    expect(installGatewayRequestContext()).toBe('already');
    const res = await t.gql('query Named($id: ID!) { user(id: $id) { name } }', { id: '1' });
    expect(res).toMatchObject({ status: 200, data: { user: { name: 'Ada' } } });
  });

  it('leaves a function it does not recognise in place and says so', () => {
    const loaded = require(apolloGatewayContextModule()) as { makeGatewayGraphQLRequestContext: unknown };
    const before = loaded.makeGatewayGraphQLRequestContext;
    const stranger = (rc: unknown) => rc;
    loaded.makeGatewayGraphQLRequestContext = stranger;
    try {
      expect(installGatewayRequestContext()).toBe('unrecognised');
      expect(loaded.makeGatewayGraphQLRequestContext).toBe(stranger);
    } finally {
      loaded.makeGatewayGraphQLRequestContext = before;
    }
  });
});

