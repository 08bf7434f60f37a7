import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orders, products } from '../../src/db/schema';
import { startTestServer, type TestServer } from '../helpers/server';

let s: TestServer;

beforeAll(async () => {
  // Ten connections, so the 50 orders really run their transactions side by side.
  s = await startTestServer({ poolSize: 10 });
});
afterAll(() => s?.close());

describe('placeOrder under contention', () => {
  it('never oversells: 50 concurrent orders for the last 10 items, exactly 10 succeed', async () => {
    const user = await s.gql(`mutation { createUser(input: { name: "Rush", email: "rush-${Date.now()}@example.com" }) { id } }`);
    const product = await s.gql(`mutation { createProduct(input: { sku: "LAST-10-${Date.now()}", name: "Scarce", priceCents: 100, stock: 10 }) { id } }`);
    const [userId, productId] = [user.data!.createUser.id, product.data!.createProduct.id];

    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        s.gql(`mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id product { stock } } }`, {
          input: { userId, productId, quantity: 1 },
        }),
      ),
    );
    const succeeded = results.filter((r) => r.data?.placeOrder);
    const refused = results.filter((r) => r.errors?.[0]?.extensions?.code === 'CONFLICT');
    expect(succeeded).toHaveLength(10);
    expect(refused).toHaveLength(40);

    const [row] = await s.db.select().from(products).where(eq(products.id, Number(productId)));
    expect(row).toMatchObject({ stock: 0, version: 11 });
    expect((await s.db.select({ n: count() }).from(orders).where(eq(orders.productId, Number(productId))))[0]!.n).toBe(10);
    const cached = JSON.parse((await s.redis.get(s.core.products.cacheLayout.key(Number(productId))))!);
    expect(cached).toMatchObject({ v: 11, row: { stock: 0, version: 11 } });
  });
});
