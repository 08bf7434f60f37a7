import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/free-port';
import { ServiceResources, type ServiceProcess } from '../helpers/service-process';

/**
 * The service as a process, at debug level, with no Redis to talk to: so that each
 * read logs from inside the core (the cache read it skipped) as well as from the
 * GraphQL layer, and every one of those lines must carry the request's id.
 */
const resources = new ServiceResources();
let service: ServiceProcess;
let url: string;

beforeAll(async () => {
  ({ service, url } = await resources.serve({ LOG_LEVEL: 'debug', REDIS_URL: `redis://127.0.0.1:${await freePort()}` }));
});
afterAll(() => resources.cleanUp());

async function read(headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    // User 1's seeding failed to reach the cache, so it is read from MySQL unasked;
    // id 99 is asked of the cache, whose refusal the core logs.
    body: JSON.stringify({ query: 'query ReadOne { users(ids: ["1", "99"]) { name } }' }),
  });
  expect((await res.json()) as unknown).toEqual({ data: { users: [{ name: 'Ada Lovelace' }, null] } });
  return res.headers.get('x-request-id')!;
}

const linesOf = (requestId: string) => service.waitForLog((log) => log.reqId === requestId && log.msg === 'graphql request').then(() => service.logs.filter((log) => log.reqId === requestId));

describe('logs', () => {
  it('carry the caller’s x-request-id on every line of its request, from the GraphQL layer and the core alike', async () => {
    expect(await read({ 'x-request-id': 'trace-abc-123' })).toBe('trace-abc-123');
    const lines = await linesOf('trace-abc-123');
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['cache read failed; reading from MySQL', 'graphql request']));
    expect(lines.find((l) => l.msg === 'graphql request')).toMatchObject({ operation: 'ReadOne', ms: expect.any(Number) });
  });

  it('carry the id on what a list’s read logs, as on a row’s', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'list-3' },
      body: JSON.stringify({ query: '{ user(id: "1") { orders(first: 5) { edges { cursor } } } }' }),
    });
    expect(((await res.json()) as { errors?: unknown }).errors).toBeUndefined();
    const lines = await linesOf('list-3');
    expect(lines.filter((l) => l.msg === 'cache read failed; reading from MySQL').map((l) => l.entity)).toEqual(expect.arrayContaining(['user_orders']));
  });

  it('carry the id of the request whose write could not reach the cache', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await resources.token(['write'])}`, 'x-request-id': 'write-7' },
      body: JSON.stringify({ query: 'mutation { createUser(input: { name: "Logged", email: "logged@example.com" }) { id } }' }),
    });
    expect(((await res.json()) as { data?: unknown }).data).toEqual({ createUser: { id: expect.any(String) } });
    const lines = await linesOf('write-7');
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['cache write failed after retries; the committed row is safe in MySQL', 'graphql request']));
  });

  it('make up an id when the caller sends none, or one that is not fit for a log line', async () => {
    const made = await read();
    expect(made).toMatch(/^[0-9a-f-]{36}$/);
    expect((await linesOf(made)).length).toBeGreaterThanOrEqual(2);
    const replaced = await read({ 'x-request-id': 'two words' });
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never write a request line without its id', async () => {
    await read();
    const requestLines = service.logs.filter((l) => l.msg === 'graphql request' || l.msg === 'cache read failed; reading from MySQL');
    expect(requestLines.length).toBeGreaterThan(0);
    expect(requestLines.filter((l) => typeof l.reqId !== 'string')).toEqual([]);
  });
});
