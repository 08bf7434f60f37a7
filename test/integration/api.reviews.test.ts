import { count, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { reviews } from '../../src/db/schema';
import { useServerOnPrivateRedis } from '../helpers/server';

/**
 * The fourth entity, added through the registry (src/entities.ts), a migration and
 * modules/review/ alone: the same promises as users and products make, through the API.
 */
const env = useServerOnPrivateRedis();

const REVIEW = 'id rating body version createdAt updatedAt';
let seq = 0;
let userId: string;
let productId: string;
const reviewCount = async () => (await env.s.db.select({ n: count() }).from(reviews))[0]!.n;
const inMysql = async (id: string) => (await env.s.db.select().from(reviews).where(eq(reviews.id, Number(id))))[0];
const key = (id: string) => env.s.core.reviews.cacheLayout.key(Number(id));

async function createUser(): Promise<string> {
  const res = await env.s.gql(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, {
    input: { name: 'Critic', email: `critic${++seq}-${Date.now()}@example.com` },
  });
  expect(res.errors).toBeUndefined();
  return res.data!.createUser.id as string;
}

async function createProduct(): Promise<string> {
  const res = await env.s.gql(`mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`, {
    input: { sku: `REVIEWED-${++seq}-${Date.now()}`, name: 'Kettle', priceCents: 2500, stock: 5 },
  });
  expect(res.errors).toBeUndefined();
  return res.data!.createProduct.id as string;
}

const CREATE = `mutation($input: CreateReviewInput!) { createReview(input: $input) { ${REVIEW} } }`;

async function createReview(input: Record<string, unknown> = {}) {
  const res = await env.s.gql(CREATE, { input: { userId, productId, rating: 4, body: 'Boils fast.', ...input } });
  expect(res.errors).toBeUndefined();
  return res.data!.createReview as { id: string; rating: number; body: string; version: number };
}

beforeAll(async () => {
  userId = await createUser();
  productId = await createProduct();
});

describe('createReview', () => {
  it('returns the committed review at version 1, readable right away with no SQL: the write went through to the cache', async () => {
    const review = await createReview({ rating: 5, body: 'Quiet, and it pours cleanly.' });
    expect(review).toMatchObject({ id: expect.stringMatching(/^\d+$/), rating: 5, body: 'Quiet, and it pours cleanly.', version: 1 });
    expect((review as any).createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const { result, sql, redis } = await env.cost(() => env.s.gql(`query($id: ID!) { review(id: $id) { ${REVIEW} } }`, { id: review.id }));
    expect(result.data).toEqual({ review });
    expect({ sql, redis }).toEqual({ sql: 0, redis: { mget: 1 } });
    expect(await inMysql(review.id)).toMatchObject({ rating: 5, version: 1, userId: Number(userId), productId: Number(productId) });
  });

  it('answers its user and product through the loaders: one MGET per level, no SQL when warm', async () => {
    const review = await createReview();
    const { result, sql, redis } = await env.cost(() =>
      env.s.gql(`query($id: ID!) { review(id: $id) { id user { id name } product { id name } } }`, { id: review.id }),
    );
    expect(result.data).toEqual({ review: { id: review.id, user: { id: userId, name: 'Critic' }, product: { id: productId, name: 'Kettle' } } });
    expect({ sql, redis }).toEqual({ sql: 0, redis: { mget: 2 } });
  });

  it.each([
    ['a rating of 0', { rating: 0 }, 'rating'],
    ['a rating of 6', { rating: 6 }, 'rating'],
    ['a body past 2,000 characters', { body: 'b'.repeat(2001) }, 'body'],
    ['an empty body', { body: '' }, 'body'],
    ['a blank body', { body: '   ' }, 'body'],
  ])('rejects %s as BAD_USER_INPUT naming the field, and writes nothing', async (_, input, field) => {
    const before = await reviewCount();
    const res = await env.s.gql(CREATE, { input: { userId, productId, rating: 3, body: 'Fine.', ...input } });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [expect.objectContaining({ field })] });
    expect(res.errors?.[0]?.message).toMatch(new RegExp(`^Invalid input: .*${field}`));
    expect(await reviewCount()).toBe(before);
  });

  it('accepts a body of exactly 2,000 characters and ratings 1 and 5', async () => {
    expect(await createReview({ rating: 1, body: 'x'.repeat(2000) })).toMatchObject({ rating: 1, version: 1 });
    expect(await createReview({ rating: 5 })).toMatchObject({ rating: 5, version: 1 });
  });

  it.each([
    ['user', () => ({ userId: '999999' })],
    ['product', () => ({ productId: '999999' })],
  ])('reports a %s that does not exist as NOT_FOUND, not an internal error, and writes nothing', async (entity, input) => {
    const before = await reviewCount();
    const res = await env.s.gql(CREATE, { input: { userId, productId, rating: 3, body: 'Who wrote this?', ...input() } });
    expect(res.errors?.[0]).toMatchObject({ message: `${entity} 999999 does not exist`, extensions: { code: 'NOT_FOUND' } });
    expect(res.data).toBeNull();
    expect(await reviewCount()).toBe(before);
  });

  it('rejects a userId or productId that is not a positive integer as BAD_USER_INPUT naming it', async () => {
    const user = await env.s.gql(CREATE, { input: { userId: 'me', productId, rating: 3, body: 'x' } });
    expect(user.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'userId' });
    const product = await env.s.gql(CREATE, { input: { userId, productId: '0', rating: 3, body: 'x' } });
    expect(product.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'productId' });
  });

  it('keeps its user and product: deleting either is a CONFLICT while the review refers to it', async () => {
    const [author, product] = [await createUser(), await createProduct()];
    await createReview({ userId: author, productId: product });
    const user = await env.s.gql(`mutation($id: ID!) { deleteUser(id: $id) }`, { id: author });
    expect(user.errors?.[0]).toMatchObject({ message: 'this user is still referenced by other records', extensions: { code: 'CONFLICT' } });
    const prod = await env.s.gql(`mutation($id: ID!) { deleteProduct(id: $id) }`, { id: product });
    expect(prod.errors?.[0]).toMatchObject({ message: 'this product is still referenced by other records', extensions: { code: 'CONFLICT' } });
  });
});

describe('review and reviews', () => {
  it('answers null for an id with no review', async () => {
    const res = await env.s.gql(`{ review(id: "999999") { id } }`);
    expect(res).toMatchObject({ status: 200, data: { review: null } });
    expect(res.errors).toBeUndefined();
  });

  it('keeps the order of ids, with null where a review is missing', async () => {
    const [a, b] = [await createReview(), await createReview()];
    const res = await env.s.gql(`query($ids: [ID!]!) { reviews(ids: $ids) { id } }`, { ids: [b.id, '999998', a.id, b.id] });
    expect(res.data).toEqual({ reviews: [{ id: b.id }, null, { id: a.id }, { id: b.id }] });
  });

  it('loads a list of reviews with their users and products in one MGET per level, no SQL when warm', async () => {
    const other = await createUser();
    const [a, b, c] = [await createReview(), await createReview({ userId: other }), await createReview()];
    const { result, sql, redis } = await env.cost(() =>
      env.s.gql(`query($ids: [ID!]!) { reviews(ids: $ids) { id user { id } product { id } } }`, { ids: [a.id, b.id, c.id] }),
    );
    expect(result.data!.reviews.map((r: { user: { id: string } }) => r.user.id)).toEqual([userId, other, userId]);
    expect({ sql, redis }).toEqual({ sql: 0, redis: { mget: 2 } });
  });

  it('rejects more than 100 ids, and a bad id, as BAD_USER_INPUT', async () => {
    const many = await env.s.gql(`query($ids: [ID!]!) { reviews(ids: $ids) { id } }`, { ids: Array.from({ length: 101 }, (_, i) => `${i + 1}`) });
    expect(many.errors?.[0]).toMatchObject({ message: 'ids may hold at most 100 ids, got 101', extensions: { code: 'BAD_USER_INPUT' } });
    const bad = await env.s.gql(`{ review(id: "x1") { id } }`);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  });
});

describe('updateReview', () => {
  const UPDATE = `mutation($id: ID!, $input: UpdateReviewInput!, $v: Int) { updateReview(id: $id, input: $input, expectedVersion: $v) { ${REVIEW} } }`;

  it('changes only the fields given, bumps the version, and the next read is a cache hit with the new value and no SQL', async () => {
    const review = await createReview({ rating: 2, body: 'Too loud.' });
    const res = await env.s.gql(UPDATE, { id: review.id, input: { rating: 3 }, v: 1 });
    expect(res.data!.updateReview).toMatchObject({ rating: 3, body: 'Too loud.', version: 2 });
    const { result, sql, redis } = await env.cost(() => env.s.gql(`query($id: ID!) { review(id: $id) { rating body version } }`, { id: review.id }));
    expect(result.data).toEqual({ review: { rating: 3, body: 'Too loud.', version: 2 } });
    expect({ sql, redis }).toEqual({ sql: 0, redis: { mget: 1 } });
  });

  it('rejects a stale expectedVersion as CONFLICT, saying which version is current, and changes nothing', async () => {
    const review = await createReview();
    await env.s.gql(UPDATE, { id: review.id, input: { body: 'Second thoughts.' } });
    const res = await env.s.gql(UPDATE, { id: review.id, input: { body: 'Lost update' }, v: 1 });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', expectedVersion: 1, actualVersion: 2 });
    const now = await env.s.gql(`query($id: ID!) { review(id: $id) { body version } }`, { id: review.id });
    expect(now.data).toEqual({ review: { body: 'Second thoughts.', version: 2 } });
  });

  it.each([
    ['a rating of 0', { rating: 0 }, 'input.rating'],
    ['a rating of 6', { rating: 6 }, 'input.rating'],
    ['a null rating', { rating: null }, 'input.rating'],
    ['a body past 2,000 characters', { body: 'b'.repeat(2001) }, 'input.body'],
    ['a null body', { body: null }, 'input.body'],
  ])('rejects %s as BAD_USER_INPUT and changes nothing', async (_, input, field) => {
    const review = await createReview();
    const res = await env.s.gql(UPDATE, { id: review.id, input });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [expect.objectContaining({ field })] });
    const now = await env.s.gql(`query($id: ID!) { review(id: $id) { version } }`, { id: review.id });
    expect(now.data).toEqual({ review: { version: 1 } });
  });

  it('cannot move a review to another user or product, and rejects an empty input, as BAD_USER_INPUT', async () => {
    const review = await createReview();
    const moved = await env.s.gql(UPDATE, { id: review.id, input: { userId: await createUser() } });
    expect(moved.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const empty = await env.s.gql(UPDATE, { id: review.id, input: {} });
    expect(empty.errors?.[0]).toMatchObject({ message: 'nothing to update: give at least one field', extensions: { code: 'BAD_USER_INPUT' } });
    expect(await inMysql(review.id)).toMatchObject({ userId: Number(userId), version: 1 });
  });

  it('reports NOT_FOUND for an id with no review', async () => {
    const res = await env.s.gql(UPDATE, { id: '999997', input: { rating: 1 } });
    expect(res.errors?.[0]).toMatchObject({ message: 'review 999997 does not exist', extensions: { code: 'NOT_FOUND' } });
    expect(res.data).toBeNull();
  });
});

describe('deleteReview', () => {
  const DELETE = `mutation($id: ID!) { deleteReview(id: $id) }`;

  it('deletes, leaves a tombstone one version above the row, answers null afterwards without SQL, and returns false the second time', async () => {
    const review = await createReview();
    await env.s.gql(`mutation($id: ID!) { updateReview(id: $id, input: { rating: 1 }) { version } }`, { id: review.id });
    expect((await env.s.gql(DELETE, { id: review.id })).data).toEqual({ deleteReview: true });
    expect(await inMysql(review.id)).toBeUndefined();
    expect(JSON.parse((await env.s.redis.get(key(review.id)))!)).toEqual({ v: 3, deleted: true });
    const { result, sql, redis } = await env.cost(() => env.s.gql(`query($id: ID!) { review(id: $id) { id } }`, { id: review.id }));
    expect(result.data).toEqual({ review: null });
    expect({ sql, redis }).toEqual({ sql: 0, redis: { mget: 1 } });
    expect((await env.s.gql(DELETE, { id: review.id })).data).toEqual({ deleteReview: false });
  });

  it('frees its user and product to be deleted', async () => {
    const [author, product] = [await createUser(), await createProduct()];
    const review = await createReview({ userId: author, productId: product });
    await env.s.gql(DELETE, { id: review.id });
    expect((await env.s.gql(`mutation($id: ID!) { deleteUser(id: $id) }`, { id: author })).data).toEqual({ deleteUser: true });
    expect((await env.s.gql(`mutation($id: ID!) { deleteProduct(id: $id) }`, { id: product })).data).toEqual({ deleteProduct: true });
  });
});

describe('access to reviews', () => {
  /** Everything a refused call could change: the reviews table and every review key. */
  async function snapshot() {
    const rows = await env.s.db.select().from(reviews).orderBy(reviews.id);
    const keys = (await env.s.redis.keys(`${env.s.settings.keyPrefix}review:*`)).sort();
    const values = keys.length > 0 ? await env.s.redis.mget(...keys) : [];
    return { rows, cache: Object.fromEntries(keys.map((k, i) => [k, values[i]])) };
  }

  const mutations = (id: string) => [
    ['createReview', `mutation { createReview(input: { userId: "${userId}", productId: "${productId}", rating: 4, body: "Refused?" }) { id } }`],
    ['updateReview', `mutation { updateReview(id: "${id}", input: { rating: 1 }) { id } }`],
    ['deleteReview', `mutation { deleteReview(id: "${id}") }`],
  ];

  const callers: Array<[string, () => Promise<string | null>, string]> = [
    ['no token', async () => null, 'UNAUTHENTICATED'],
    ['a read-only token', () => env.s.token(['read']), 'FORBIDDEN'],
  ];
  it.each(callers)('refuses every mutation to %s, changing nothing', async (_, token, code) => {
    const review = await createReview();
    const before = await snapshot();
    const bearer = await token();
    for (const [name, query] of mutations(review.id)) {
      const res = await env.s.gql(query!, undefined, { token: bearer });
      expect({ name, data: res.data, code: res.errors?.[0]?.extensions?.code }).toEqual({ name, data: null, code });
    }
    expect(await snapshot()).toEqual(before);
  });

  it('lets a write token make every mutation, and anyone read (reads are public unless REQUIRE_AUTH_FOR_READS)', async () => {
    const write = await env.s.token(['write']);
    const review = await createReview();
    for (const [name, query] of mutations(review.id)) {
      const res = await env.s.gql(query!, undefined, { token: write });
      expect({ name, errors: res.errors }).toEqual({ name, errors: undefined });
    }
    const open = await env.s.gql(`query($ids: [ID!]!) { reviews(ids: $ids) { id } }`, { ids: [review.id] }, { token: null });
    expect(open).toMatchObject({ data: { reviews: [null] } });
  });
});
