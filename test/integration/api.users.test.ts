import { count } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { users } from '../../src/db/schema';
import { useServerOnPrivateRedis } from '../helpers/server';

const env = useServerOnPrivateRedis();

const USER = 'id name email bio version createdAt updatedAt';
let seq = 0;
const email = () => `api${++seq}-${Date.now()}@example.com`;
const userCount = async () => (await env.s.db.select({ n: count() }).from(users))[0]!.n;

async function createUser(input: Record<string, unknown> = {}) {
  const res = await env.s.gql(`mutation($input: CreateUserInput!) { createUser(input: $input) { ${USER} } }`, {
    input: { name: 'Ada', email: email(), ...input },
  });
  expect(res.errors).toBeUndefined();
  return res.data!.createUser as { id: string; version: number; email: string; name: string };
}


describe('createUser', () => {
  it('returns the committed user at version 1, with ISO timestamps', async () => {
    const user = await createUser({ name: 'Grace', bio: 'Admiral' });
    expect(user).toMatchObject({ id: expect.stringMatching(/^\d+$/), name: 'Grace', bio: 'Admiral', version: 1 });
    expect((user as any).createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('is readable right away with no SQL: the write went through to the cache', async () => {
    const user = await createUser();
    const { result, sql, redis } = await env.cost(() => env.s.gql(`query($id: ID!) { user(id: $id) { ${USER} } }`, { id: user.id }));
    expect(result.data!.user).toEqual(user);
    expect(sql).toBe(0);
    expect(redis).toEqual({ mget: 1 });
  });

  it.each([
    ['an over-long name', { name: 'x'.repeat(101) }, 'name'],
    ['a blank name', { name: '   ' }, 'name'],
    ['a bad email', { email: 'not-an-email' }, 'email'],
    ['an over-long bio', { bio: 'b'.repeat(2001) }, 'bio'],
  ])('rejects %s as BAD_USER_INPUT naming the field, and writes nothing', async (_, input, field) => {
    const before = await userCount();
    const res = await env.s.gql(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, {
      input: { name: 'Ada', email: email(), ...input },
    });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [expect.objectContaining({ field })] });
    expect(res.errors?.[0]?.message).toMatch(new RegExp(`^Invalid input: .*${field}`));
    expect(await userCount()).toBe(before);
  });

  it('rejects a taken email as CONFLICT', async () => {
    const user = await createUser();
    const res = await env.s.gql(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, {
      input: { name: 'Copy', email: user.email },
    });
    expect(res.errors?.[0]).toMatchObject({ message: 'another user already has this email', extensions: { code: 'CONFLICT', field: 'email' } });
  });
});

describe('user and users', () => {
  it('answers null for an id with no user', async () => {
    const res = await env.s.gql(`{ user(id: "999999") { id } }`);
    expect(res).toMatchObject({ status: 200, data: { user: null } });
    expect(res.errors).toBeUndefined();
  });

  it('keeps the order of ids, with null where a user is missing', async () => {
    const [a, b] = [await createUser(), await createUser()];
    const res = await env.s.gql(`query($ids: [ID!]!) { users(ids: $ids) { id } }`, { ids: [b.id, '999998', a.id, b.id] });
    expect(res.data).toEqual({ users: [{ id: b.id }, null, { id: a.id }, { id: b.id }] });
  });

  it('loads every user a request names in one batch: one MGET, no SQL when warm', async () => {
    const [a, b, c] = [await createUser(), await createUser(), await createUser()];
    const { result, sql, redis } = await env.cost(() =>
      env.s.gql(`query($a: ID!, $b: ID!, $ids: [ID!]!) { one: user(id: $a) { id } two: user(id: $b) { id } all: users(ids: $ids) { id } }`, {
        a: a.id,
        b: b.id,
        ids: [a.id, b.id, c.id],
      }),
    );
    expect(result.data).toEqual({ one: { id: a.id }, two: { id: b.id }, all: [{ id: a.id }, { id: b.id }, { id: c.id }] });
    expect({ sql, redis }).toEqual({ sql: 0, redis: { mget: 1 } });
  });

  it('reads every user a request names with one SELECT when cold, lists and single ids alike', async () => {
    const [a, b, c, d] = [await createUser(), await createUser(), await createUser(), await createUser()];
    await env.s.redis.del(...[a, b, c, d].map((u) => env.s.core.users.cacheLayout.key(Number(u.id))));
    const { result, sql, redis } = await env.cost(() =>
      env.s.gql(`query($a: ID!, $x: [ID!]!, $y: [ID!]!) { one: user(id: $a) { id } x: users(ids: $x) { id } y: users(ids: $y) { id } }`, {
        a: a.id,
        x: [b.id, c.id],
        y: [d.id, a.id],
      }),
    );
    expect(result.data).toEqual({ one: { id: a.id }, x: [{ id: b.id }, { id: c.id }], y: [{ id: d.id }, { id: a.id }] });
    expect(sql).toBe(1);
    expect(redis.mget).toBe(1);
  });

  it.each([
    ['non-numeric', 'abc'],
    ['negative', '-4'],
    ['zero', '0'],
    ['fractional', '1.5'],
    ['too large', '99999999999999999999'],
  ])('rejects a %s id as BAD_USER_INPUT', async (_, id) => {
    const res = await env.s.gql(`query($id: ID!) { user(id: $id) { id } }`, { id });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    expect(res.errors?.[0]?.message).toMatch(/^id must be a positive integer/);
  });

  it('rejects a list with a malformed id as BAD_USER_INPUT, naming its position', async () => {
    const res = await env.s.gql(`query($ids: [ID!]!) { users(ids: $ids) { id } }`, { ids: ['1', '2', 'x7'] });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ids[2]' });
    expect(res.errors?.[0]?.message).toBe('ids[2] must be a positive integer, got "x7"');
  });

  it('rejects more than 100 ids as BAD_USER_INPUT', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => String(i + 1));
    const res = await env.s.gql(`query($ids: [ID!]!) { users(ids: $ids) { id } }`, { ids });
    expect(res.errors?.[0]).toMatchObject({ message: 'ids may hold at most 100 ids, got 101', extensions: { code: 'BAD_USER_INPUT' } });
  });
});

describe('updateUser', () => {
  const UPDATE = `mutation($id: ID!, $input: UpdateUserInput!, $v: Int) { updateUser(id: $id, input: $input, expectedVersion: $v) { ${USER} } }`;

  it('changes only the fields given and bumps the version', async () => {
    const user = await createUser({ bio: 'keep me' });
    const res = await env.s.gql(UPDATE, { id: user.id, input: { name: 'Renamed' } });
    expect(res.data!.updateUser).toMatchObject({ name: 'Renamed', email: user.email, bio: 'keep me', version: 2 });
  });

  it('clears the bio when given null', async () => {
    const user = await createUser({ bio: 'old' });
    const res = await env.s.gql(UPDATE, { id: user.id, input: { bio: null } });
    expect(res.data!.updateUser).toMatchObject({ bio: null, version: 2 });
  });

  it('is read back with no SQL', async () => {
    const user = await createUser();
    await env.s.gql(UPDATE, { id: user.id, input: { name: 'Fresh' } });
    const { result, sql } = await env.cost(() => env.s.gql(`query($id: ID!) { user(id: $id) { name version } }`, { id: user.id }));
    expect(result.data).toEqual({ user: { name: 'Fresh', version: 2 } });
    expect(sql).toBe(0);
  });

  it('rejects a stale expectedVersion as CONFLICT, saying which version is current, and changes nothing', async () => {
    const user = await createUser();
    await env.s.gql(UPDATE, { id: user.id, input: { name: 'Second' } });
    const res = await env.s.gql(UPDATE, { id: user.id, input: { name: 'Lost update' }, v: 1 });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', expectedVersion: 1, actualVersion: 2 });
    const now = await env.s.gql(`query($id: ID!) { user(id: $id) { name version } }`, { id: user.id });
    expect(now.data).toEqual({ user: { name: 'Second', version: 2 } });
  });

  it('reports NOT_FOUND for an id with no user', async () => {
    const res = await env.s.gql(UPDATE, { id: '999997', input: { name: 'Ghost' } });
    expect(res.errors?.[0]).toMatchObject({ message: 'user 999997 does not exist', extensions: { code: 'NOT_FOUND' } });
    expect(res.data).toBeNull();
  });

  it.each([
    ['a null name', { name: null }, 'input.name'],
    ['an empty name', { name: '' }, 'input.name'],
    ['a bad email', { email: 'nope' }, 'input.email'],
  ])('rejects %s as BAD_USER_INPUT and changes nothing', async (_, input, field) => {
    const user = await createUser();
    const res = await env.s.gql(UPDATE, { id: user.id, input });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [expect.objectContaining({ field })] });
    const now = await env.s.gql(`query($id: ID!) { user(id: $id) { version } }`, { id: user.id });
    expect(now.data).toEqual({ user: { version: 1 } });
  });

  it('rejects an empty input as BAD_USER_INPUT', async () => {
    const user = await createUser();
    const res = await env.s.gql(UPDATE, { id: user.id, input: {} });
    expect(res.errors?.[0]).toMatchObject({ message: 'nothing to update: give at least one field', extensions: { code: 'BAD_USER_INPUT' } });
  });
});

describe('deleteUser', () => {
  it('deletes, answers null afterwards without SQL, and returns false the second time', async () => {
    const user = await createUser();
    const del = `mutation($id: ID!) { deleteUser(id: $id) }`;
    expect((await env.s.gql(del, { id: user.id })).data).toEqual({ deleteUser: true });
    const { result, sql } = await env.cost(() => env.s.gql(`query($id: ID!) { user(id: $id) { id } }`, { id: user.id }));
    expect(result.data).toEqual({ user: null });
    expect(sql).toBe(0);
    expect((await env.s.gql(del, { id: user.id })).data).toEqual({ deleteUser: false });
  });
});

describe('the HTTP endpoints', () => {
  it('answers /healthz and /readyz', async () => {
    const base = env.s.url.replace(/\/graphql$/, '');
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ mysql: 'ok', redis: 'ok' });
  });

  it('answers GET / with where things are: a browser is sent to the explorer, anything else gets the paths', async () => {
    const base = env.s.url.replace(/\/graphql$/, '');
    const browser = await fetch(`${base}/`, { headers: { accept: 'text/html,application/xhtml+xml' }, redirect: 'manual' });
    expect(browser.status).toBe(302);
    expect(browser.headers.get('location')).toBe('/graphql');
    const other = await fetch(`${base}/`);
    expect(other.status).toBe(200);
    expect(await other.json()).toEqual({
      service: 'Throughline',
      paths: { graphql: '/graphql', graphiql: '/graphiql', monitor: '/monitor', healthz: '/healthz', readyz: '/readyz', metrics: '/metrics' },
    });
  });

  it('answers introspection in development, for Sandbox to explore', async () => {
    const res = await env.s.gql('{ __type(name: "Mutation") { fields { name } } }');
    expect(res.data!.__type.fields.map((f: { name: string }) => f.name)).toEqual([
      'createUser',
      'updateUser',
      'deleteUser',
      'createProduct',
      'updateProduct',
      'deleteProduct',
      'placeOrder',
      'createReview',
      'updateReview',
      'deleteReview',
    ]);
  });

  it('serves the Apollo Sandbox page to a browser asking for HTML', async () => {
    const res = await fetch(env.s.url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/sandbox/i);
  });
});
