import { count, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { MAX_GRAPHQL_INT, products } from '../../src/db/schema';
import { useServerOnPrivateRedis } from '../helpers/server';

const env = useServerOnPrivateRedis();

const PRODUCT = 'id sku name priceCents stock version createdAt updatedAt';
let seq = 0;
const sku = () => `SKU-${++seq}-${Date.now()}`;
const productCount = async () => (await env.s.db.select({ n: count() }).from(products))[0]!.n;

async function createProduct(input: Record<string, unknown> = {}) {
  const res = await env.s.gql(`mutation($input: CreateProductInput!) { createProduct(input: $input) { ${PRODUCT} } }`, {
    input: { sku: sku(), name: 'Widget', priceCents: 1999, stock: 10, ...input },
  });
  expect(res.errors).toBeUndefined();
  return res.data!.createProduct as { id: string; sku: string; version: number; stock: number };
}

describe('createProduct', () => {
  it('returns the committed product at version 1, readable right away with no SQL', async () => {
    const product = await createProduct({ name: 'Gadget', priceCents: 500, stock: 3 });
    expect(product).toMatchObject({ name: 'Gadget', priceCents: 500, stock: 3, version: 1 });
    const { result, sql, redis } = await env.cost(() => env.s.gql(`query($id: ID!) { product(id: $id) { ${PRODUCT} } }`, { id: product.id }));
    expect(result.data).toEqual({ product });
    expect({ sql, redis }).toEqual({ sql: 0, redis: { mget: 1 } });
  });

  it.each([
    ['a negative price', { priceCents: -1 }, 'priceCents'],
    ['negative stock', { stock: -5 }, 'stock'],
    ['an empty sku', { sku: '' }, 'sku'],
    ['a sku with spaces', { sku: 'has space' }, 'sku'],
    ['an over-long name', { name: 'n'.repeat(201) }, 'name'],
  ])('rejects %s as BAD_USER_INPUT naming the field, and writes nothing', async (_, input, field) => {
    const before = await productCount();
    const res = await env.s.gql(`mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`, {
      input: { sku: sku(), name: 'Widget', priceCents: 100, stock: 1, ...input },
    });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [expect.objectContaining({ field })] });
    expect(await productCount()).toBe(before);
  });

  it.each([
    ['price', { priceCents: 2 ** 31, stock: 1 }],
    ['stock', { priceCents: 1, stock: 2 ** 31 }],
  ])('rejects a %s one past what a GraphQL Int holds before it reaches the resolver, and writes nothing', async (_, values) => {
    const before = await productCount();
    const res = await env.s.gql(`mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`, {
      input: { sku: sku(), name: 'Widget', ...values },
    });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await productCount()).toBe(before);
  });

  it('accepts the largest price and stock GraphQL can answer, which round-trip through the cache and lists', async () => {
    const created = await env.s.gql(`mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`, {
      input: { sku: sku(), name: 'Priceless', priceCents: MAX_GRAPHQL_INT, stock: MAX_GRAPHQL_INT },
    });
    expect(created.errors).toBeUndefined();
    const id = created.data!.createProduct.id as string;
    const read = await env.s.gql(`query($id: ID!, $ids: [ID!]!) { product(id: $id) { priceCents stock } products(ids: $ids) { priceCents stock } }`, {
      id,
      ids: [id],
    });
    expect(read.errors).toBeUndefined();
    const limits = { priceCents: MAX_GRAPHQL_INT, stock: MAX_GRAPHQL_INT };
    expect(read.data).toEqual({ product: limits, products: [limits] });
  });

  it.each([
    ['price_cents', 'priceCents'],
    ['stock', 'stock'],
  ])('is refused by MySQL itself with %s past what GraphQL can answer, even when written around the API', async (column) => {
    const created = await env.s.gql(`mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`, {
      input: { sku: sku(), name: 'Bounded', priceCents: 1, stock: 1 },
    });
    const id = Number(created.data!.createProduct.id);
    await expect(env.s.pool.query(`UPDATE products SET ${column} = ? WHERE id = ?`, [MAX_GRAPHQL_INT + 1, id])).rejects.toThrow(/fits_int/);
    const [row] = await env.s.db.select().from(products).where(eq(products.id, id));
    expect(row).toMatchObject({ priceCents: 1, stock: 1 });
  });

  it('rejects a taken sku as CONFLICT', async () => {
    const product = await createProduct();
    const res = await env.s.gql(`mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`, {
      input: { sku: product.sku, name: 'Copy', priceCents: 1, stock: 1 },
    });
    expect(res.errors?.[0]).toMatchObject({ message: 'another product already has this sku', extensions: { code: 'CONFLICT', field: 'sku' } });
  });
});

describe('product and products', () => {
  it('keeps the order of ids, with null where a product is missing', async () => {
    const [a, b] = [await createProduct(), await createProduct()];
    const res = await env.s.gql(`query($ids: [ID!]!) { products(ids: $ids) { id } }`, { ids: [b.id, '999999', a.id] });
    expect(res.data).toEqual({ products: [{ id: b.id }, null, { id: a.id }] });
  });

  it('rejects more than 100 ids, and a bad id, as BAD_USER_INPUT', async () => {
    const many = await env.s.gql(`query($ids: [ID!]!) { products(ids: $ids) { id } }`, { ids: Array.from({ length: 101 }, (_, i) => `${i + 1}`) });
    expect(many.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const bad = await env.s.gql(`{ product(id: "x1") { id } }`);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  });
});

describe('updateProduct', () => {
  const UPDATE = `mutation($id: ID!, $input: UpdateProductInput!, $v: Int) { updateProduct(id: $id, input: $input, expectedVersion: $v) { ${PRODUCT} } }`;

  it('changes only the fields given, bumps the version, and is read back with no SQL', async () => {
    const product = await createProduct({ priceCents: 100, stock: 5 });
    const res = await env.s.gql(UPDATE, { id: product.id, input: { priceCents: 150 }, v: 1 });
    expect(res.data!.updateProduct).toMatchObject({ priceCents: 150, stock: 5, sku: product.sku, version: 2 });
    const { result, sql } = await env.cost(() => env.s.gql(`query($id: ID!) { product(id: $id) { priceCents version } }`, { id: product.id }));
    expect(result.data).toEqual({ product: { priceCents: 150, version: 2 } });
    expect(sql).toBe(0);
  });

  it('rejects a stale expectedVersion as CONFLICT and changes nothing', async () => {
    const product = await createProduct();
    await env.s.gql(UPDATE, { id: product.id, input: { stock: 1 } });
    const res = await env.s.gql(UPDATE, { id: product.id, input: { stock: 99 }, v: 1 });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', expectedVersion: 1, actualVersion: 2 });
    const now = await env.s.gql(`query($id: ID!) { product(id: $id) { stock version } }`, { id: product.id });
    expect(now.data).toEqual({ product: { stock: 1, version: 2 } });
  });

  it.each([
    ['negative stock', { stock: -1 }],
    ['a null price', { priceCents: null }],
    ['a blank name', { name: ' ' }],
  ])('rejects %s as BAD_USER_INPUT and changes nothing', async (_, input) => {
    const product = await createProduct();
    const res = await env.s.gql(UPDATE, { id: product.id, input });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const now = await env.s.gql(`query($id: ID!) { product(id: $id) { version } }`, { id: product.id });
    expect(now.data).toEqual({ product: { version: 1 } });
  });

  it('reports NOT_FOUND for an id with no product', async () => {
    const res = await env.s.gql(UPDATE, { id: '999998', input: { stock: 1 } });
    expect(res.errors?.[0]).toMatchObject({ message: 'product 999998 does not exist', extensions: { code: 'NOT_FOUND' } });
  });
});

describe('deleteProduct', () => {
  it('deletes, answers null afterwards without SQL, and returns false the second time', async () => {
    const product = await createProduct();
    const del = `mutation($id: ID!) { deleteProduct(id: $id) }`;
    expect((await env.s.gql(del, { id: product.id })).data).toEqual({ deleteProduct: true });
    const { result, sql } = await env.cost(() => env.s.gql(`query($id: ID!) { product(id: $id) { id } }`, { id: product.id }));
    expect(result.data).toEqual({ product: null });
    expect(sql).toBe(0);
    expect((await env.s.gql(del, { id: product.id })).data).toEqual({ deleteProduct: false });
  });
});
