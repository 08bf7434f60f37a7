import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

/**
 * The service's MySQL connections run through a TCP proxy that the test cuts once
 * the service is up and has cached a user: its pooled connections are dropped and
 * new ones are refused, as when MySQL dies or the network to it does.
 */
let s: TestServer;
let proxy: TcpProxy;
let userId: string;

beforeAll(async () => {
  proxy = await startTcpProxy({ host: '127.0.0.1', port: 3306 });
  s = await startTestServer({ mysqlThroughPort: proxy.port });
  const res = await s.gql(`mutation { createUser(input: { name: "Cached", email: "cached-${Date.now()}@example.com" }) { id } }`);
  userId = res.data!.createUser.id;
  await proxy.cut();
});
afterAll(async () => {
  await proxy?.restore();
  await s?.close();
  await proxy?.close();
});

const cachedUser = () => s.redis.get(s.core.users.cacheLayout.key(Number(userId)));

describe('with MySQL cut off', () => {
  it('fails a mutation with SERVICE_UNAVAILABLE and leaves the cache as it was', async () => {
    const before = await cachedUser();
    const res = await s.gql(`mutation($id: ID!) { updateUser(id: $id, input: { name: "Lost" }) { id } }`, { id: userId });
    expect(res.errors?.[0]).toMatchObject({
      message: 'the database is unavailable; try again shortly',
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
    expect(JSON.stringify(res)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|stacktrace/);
    expect(await cachedUser()).toBe(before);
  });

  it('fails a create with SERVICE_UNAVAILABLE and caches nothing', async () => {
    const keysBefore = await s.redis.keys(`${s.settings.keyPrefix}*`);
    const res = await s.gql(`mutation { createUser(input: { name: "Nobody", email: "nobody@example.com" }) { id } }`);
    expect(res.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(await s.redis.keys(`${s.settings.keyPrefix}*`)).toEqual(keysBefore);
  });

  it('still answers reads the cache holds', async () => {
    const res = await s.gql(`query($id: ID!) { user(id: $id) { name } }`, { id: userId });
    expect(res).toMatchObject({ data: { user: { name: 'Cached' } } });
    expect(res.errors).toBeUndefined();
  });

  it('fails a read the cache cannot answer with SERVICE_UNAVAILABLE', async () => {
    const res = await s.gql(`{ user(id: "999999") { name } }`);
    expect(res.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
  });

  it('fails a list with one id the cache cannot answer as a whole, with SERVICE_UNAVAILABLE', async () => {
    const res = await s.gql(`query($ids: [ID!]!) { users(ids: $ids) { name } }`, { ids: [userId, '999998'] });
    // `users` is a non-null list: its failure takes the whole answer with it.
    expect(res.data).toBeNull();
    expect(res.errors).toHaveLength(1);
    expect(res.errors?.[0]).toMatchObject({ path: ['users'], extensions: { code: 'SERVICE_UNAVAILABLE' } });
  });

  it('reports MySQL as not ready', async () => {
    const ready = await fetch(s.url.replace(/\/graphql$/, '/readyz'));
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ mysql: expect.stringMatching(/^unavailable/), redis: 'ok' });
  });

  it('reports MySQL as not ready within about a second while MySQL hangs', async () => {
    await proxy.restore();
    proxy.blackhole();
    try {
      // Without the deadline this would wait until the hung connection gave up.
      const ready = await fetch(s.url.replace(/\/graphql$/, '/readyz'));
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ mysql: 'unavailable: no answer within 1000 ms', redis: 'ok' });
    } finally {
      await proxy.restore();
    }
  });

  it('works again once MySQL is back', async () => {
    await proxy.restore();
    const res = await s.gql(`mutation($id: ID!) { updateUser(id: $id, input: { name: "Back" }) { version } }`, { id: userId });
    expect(res.data).toEqual({ updateUser: { version: 2 } });
    await proxy.cut();
  });
});
