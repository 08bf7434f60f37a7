import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Two servers over the same Redis keys: `healthy` writes the data, `cut` is the same
 * service whose MySQL pool points at a port nothing listens on.
 */
let healthy: TestServer;
let cut: TestServer;
let userId: string;

beforeAll(async () => {
  healthy = await startTestServer();
  cut = await startTestServer({
    mysqlUrl: `mysql://root@127.0.0.1:${await freePort()}/nothing`,
    keyPrefix: healthy.settings.keyPrefix,
    start: false,
  });
  const res = await healthy.gql(`mutation { createUser(input: { name: "Cached", email: "cached-${Date.now()}@example.com" }) { id } }`);
  userId = res.data!.createUser.id;
});
afterAll(async () => {
  await cut?.close();
  await healthy?.close();
});

const cachedUser = () => healthy.redis.get(healthy.core.users.cacheLayout.key(Number(userId)));

describe('with MySQL unreachable', () => {
  it('fails a mutation with SERVICE_UNAVAILABLE and leaves the cache as it was', async () => {
    const before = await cachedUser();
    const res = await cut.gql(`mutation($id: ID!) { updateUser(id: $id, input: { name: "Lost" }) { id } }`, { id: userId });
    expect(res.errors?.[0]).toMatchObject({
      message: 'the database is unavailable; try again shortly',
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
    expect(JSON.stringify(res)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|stacktrace/);
    expect(await cachedUser()).toBe(before);
  });

  it('fails a create with SERVICE_UNAVAILABLE and caches nothing', async () => {
    const keysBefore = await healthy.redis.keys(`${healthy.settings.keyPrefix}*`);
    const res = await cut.gql(`mutation { createUser(input: { name: "Nobody", email: "nobody@example.com" }) { id } }`);
    expect(res.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(await healthy.redis.keys(`${healthy.settings.keyPrefix}*`)).toEqual(keysBefore);
  });

  it('still answers reads the cache holds', async () => {
    const res = await cut.gql(`query($id: ID!) { user(id: $id) { name } }`, { id: userId });
    expect(res).toMatchObject({ data: { user: { name: 'Cached' } } });
    expect(res.errors).toBeUndefined();
  });

  it('fails a read the cache cannot answer with SERVICE_UNAVAILABLE', async () => {
    const res = await cut.gql(`{ user(id: "999999") { name } }`);
    expect(res.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
  });

  it('reports MySQL as not ready', async () => {
    const ready = await fetch(cut.url.replace(/\/graphql$/, '/readyz'));
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ mysql: expect.stringMatching(/^unavailable/), redis: 'ok' });
  });
});
