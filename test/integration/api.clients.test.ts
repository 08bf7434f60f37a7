import { createHash } from 'node:crypto';
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { Client, cacheExchange, fetchExchange, type Exchange } from '@urql/core';
import { persistedExchange } from '@urql/exchange-persisted';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Apollo Client and urql, as a frontend would set them up from their docs, against
 * the real service: each on its defaults, and each with its persisted-queries
 * add-on. Every request they make is recorded (method, and whether it carried the
 * query text or only its hash) by a fetch that passes it on unchanged.
 */

interface Answer {
  data: Record<string, any> | null | undefined;
  /** The `extensions.code` of each error, in order; empty when there were none. */
  codes: string[];
}

interface Frontend {
  query(text: string, variables: Record<string, unknown>): Promise<Answer>;
  mutate(text: string, variables: Record<string, unknown>, token?: string): Promise<Answer>;
}

interface Sent {
  method: string;
  /** The query text went along (not just a persisted-query hash). */
  withText: boolean;
  /** It went with a persisted-query hash. */
  withHash: boolean;
}

function recordingFetch(sent: Sent[]): typeof fetch {
  return async (input, init) => {
    const method = init?.method ?? 'GET';
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const params: { query?: unknown; extensions?: unknown } =
      method === 'GET' ? { query: url.searchParams.get('query') ?? undefined, extensions: url.searchParams.get('extensions') ?? undefined } : JSON.parse(String(init?.body));
    sent.push({ method, withText: typeof params.query === 'string' && params.query !== '', withHash: JSON.stringify(params.extensions ?? '').includes('sha256Hash') });
    return fetch(input, init);
  };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const bearer = (token?: string): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

function apolloClient(url: string, sent: Sent[], persisted?: { useGETForHashedQueries: boolean }): Frontend {
  const http = new HttpLink({ uri: url, fetch: recordingFetch(sent) });
  const link = persisted ? ApolloLink.from([new PersistedQueryLink({ sha256, ...persisted }), http]) : http;
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const answer = async (run: () => Promise<{ data?: unknown }>): Promise<Answer> => {
    try {
      const { data } = await run();
      return { data: data as Answer['data'], codes: [] };
    } catch (error) {
      if (!CombinedGraphQLErrors.is(error)) throw error;
      return { data: error.data as Answer['data'], codes: error.errors.map((e) => String(e.extensions?.code)) };
    }
  };
  return {
    // network-only: a fresh request each time, not the client's own cache.
    query: (text, variables) => answer(() => client.query({ query: gql(text), variables, fetchPolicy: 'network-only' })),
    mutate: (text, variables, token) => answer(() => client.mutate({ mutation: gql(text), variables, context: { headers: bearer(token) } })),
  };
}

function urqlClient(url: string, sent: Sent[], persisted: boolean): Frontend {
  const exchanges: Exchange[] = [cacheExchange, ...(persisted ? [persistedExchange()] : []), fetchExchange];
  const client = new Client({ url, exchanges, fetch: recordingFetch(sent) });
  const answer = ({ data, error }: { data?: unknown; error?: { graphQLErrors: Array<{ extensions: Record<string, unknown> }>; networkError?: Error } }): Answer => {
    if (error?.networkError) throw error.networkError;
    return { data: data as Answer['data'], codes: error?.graphQLErrors.map((e) => String(e.extensions.code)) ?? [] };
  };
  return {
    query: async (text, variables) => answer(await client.query(text, variables, { requestPolicy: 'network-only' }).toPromise()),
    mutate: async (text, variables, token) => answer(await client.mutation(text, variables, { fetchOptions: { headers: bearer(token) } }).toPromise()),
  };
}

const READ = 'query ReadUser($id: ID!) { user(id: $id) { id name version } }';
const RENAME = 'mutation RenameUser($id: ID!, $name: String!, $v: Int) { updateUser(id: $id, input: { name: $name }, expectedVersion: $v) { id name version } }';
const CREATE = 'mutation CreateUser($email: String!) { createUser(input: { name: "Client", email: $email }) { id } }';

let s: TestServer;
let tokens: { write: string; read: string };
beforeAll(async () => {
  s = await startTestServer();
  tokens = { write: await s.token(['read', 'write']), read: await s.token(['read']) };
});
afterAll(() => s?.close());

let seq = 0;
async function newUser(): Promise<{ id: string; version: number }> {
  const res = await s.gql(`mutation($email: String!) { createUser(input: { name: "Before", email: $email }) { id version } }`, { email: `client${++seq}@example.com` });
  return res.data!.createUser;
}

const FRONTENDS: Array<[string, (sent: Sent[]) => Frontend, { get: boolean; hashes: boolean }]> = [
  ['Apollo Client (HttpLink)', (sent) => apolloClient(s.url, sent), { get: false, hashes: false }],
  ['Apollo Client with the persisted-queries link', (sent) => apolloClient(s.url, sent, { useGETForHashedQueries: false }), { get: false, hashes: true }],
  ['Apollo Client with the persisted-queries link over GET', (sent) => apolloClient(s.url, sent, { useGETForHashedQueries: true }), { get: true, hashes: true }],
  ['urql (default exchanges)', (sent) => urqlClient(s.url, sent, false), { get: true, hashes: false }],
  ['urql with @urql/exchange-persisted', (sent) => urqlClient(s.url, sent, true), { get: true, hashes: true }],
];

describe.each(FRONTENDS)('%s', (_name, make, expected) => {
  it('reads, writes with a token, and a fresh query shows the new value', async () => {
    const sent: Sent[] = [];
    const client = make(sent);
    const user = await newUser();
    expect(await client.query(READ, { id: user.id })).toEqual({ data: { user: { __typename: 'User', id: user.id, name: 'Before', version: 1 } }, codes: [] });
    const renamed = await client.mutate(RENAME, { id: user.id, name: 'After', v: 1 }, tokens.write);
    expect(renamed).toEqual({ data: { updateUser: { __typename: 'User', id: user.id, name: 'After', version: 2 } }, codes: [] });
    expect(await client.query(READ, { id: user.id })).toEqual({ data: { user: { __typename: 'User', id: user.id, name: 'After', version: 2 } }, codes: [] });
    // Its queries went as it sends them by default: GET or POST, by hash or in full.
    expect(sent.some((r) => r.method === 'GET')).toBe(expected.get);
    expect(sent.some((r) => r.withHash)).toBe(expected.hashes);
  });

  it('gets UNAUTHENTICATED, FORBIDDEN, CONFLICT and BAD_USER_INPUT, coded, and nothing is written', async () => {
    const client = make([]);
    const user = await newUser();
    expect((await client.mutate(RENAME, { id: user.id, name: 'No token' })).codes).toEqual(['UNAUTHENTICATED']);
    expect((await client.mutate(RENAME, { id: user.id, name: 'Read only' }, tokens.read)).codes).toEqual(['FORBIDDEN']);
    expect((await client.mutate(RENAME, { id: user.id, name: 'Stale', v: 7 }, tokens.write)).codes).toEqual(['CONFLICT']);
    expect((await client.mutate(CREATE, { email: 'not an email' }, tokens.write)).codes).toEqual(['BAD_USER_INPUT']);
    expect((await client.query(READ, { id: user.id })).data).toEqual({ user: { __typename: 'User', id: user.id, name: 'Before', version: 1 } });
  });
});

describe('a persisted query sent as its hash alone', () => {
  it('is registered by one client and then served to another by hash, over GET', async () => {
    const first: Sent[] = [];
    const second: Sent[] = [];
    const user = await newUser();
    const query = `query Registered($id: ID!) { user(id: $id) { name } }`;
    await urqlClient(s.url, first, true).query(query, { id: user.id });
    const answer = await urqlClient(s.url, second, true).query(query, { id: user.id });
    expect(answer).toEqual({ data: { user: { __typename: 'User', name: 'Before' } }, codes: [] });
    // The first client had to send the text once; the second never did.
    expect(first.some((r) => r.withText)).toBe(true);
    expect(second).toEqual([{ method: 'GET', withText: false, withHash: true }]);
  });
});
