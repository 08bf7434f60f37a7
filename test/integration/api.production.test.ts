import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server';

let s: TestServer;

beforeAll(async () => {
  s = await startTestServer({ production: true });
});
afterAll(() => s?.close());

describe('in production', () => {
  it('refuses introspection', async () => {
    const res = await s.gql('{ __schema { types { name } } }');
    expect(res.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('serves no Sandbox page', async () => {
    const res = await fetch(s.url, { headers: { accept: 'text/html' } });
    expect(await res.text()).not.toMatch(/sandbox/i);
  });

  it('answers GET / with the paths, to a browser too: there is no explorer to send it to', async () => {
    const res = await fetch(new URL('/', s.url), { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      service: 'Throughline',
      paths: { graphql: '/graphql', monitor: '/monitor', healthz: '/healthz', readyz: '/readyz', metrics: '/metrics' },
    });
  });

  it('sends errors without stack traces', async () => {
    const res = await s.gql(`mutation { updateUser(id: "999999", input: { name: "x" }) { id } }`);
    expect(res.errors?.[0]).toEqual({
      message: 'user 999999 does not exist',
      locations: expect.any(Array),
      path: ['updateUser'],
      extensions: { code: 'NOT_FOUND' },
    });
  });
});
