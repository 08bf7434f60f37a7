import mysql from 'mysql2/promise';
import { QUERIES, gql, idWindow } from './graphql';

export interface SeedSizes {
  users: number;
  products: number;
  orders: number;
}

export const SEED: SeedSizes = { users: 1000, products: 50, orders: 500 };
/** Users 1 to LIST_USERS have 20 orders more each (the newest LIST_USERS × 20 orders). */
export const LIST_USERS = 20;

/**
 * Fills the bench database with plain multi-row INSERTs: seeding is not what is
 * measured, and rows inserted behind the services' backs leave every cache cold,
 * which warm() then fills through the services' own read path.
 */
export async function seed(url: string, sizes: SeedSizes = SEED): Promise<void> {
  const connection = await mysql.createConnection({ uri: url });
  try {
    const users = Array.from({ length: sizes.users }, (_, i) => [
      `Bench user ${i + 1}`,
      `user${i + 1}@bench.test`,
      i % 3 === 0 ? `Bio of user ${i + 1}, who likes fast caches.` : null,
    ]);
    await connection.query('INSERT INTO users (name, email, bio) VALUES ?', [users]);
    const prices = Array.from({ length: sizes.products }, (_, i) => 100 + i * 25);
    const products = prices.map((price, i) => [`SKU-${i + 1}`, `Product ${i + 1}`, price, 1_000_000]);
    await connection.query('INSERT INTO products (sku, name, price_cents, stock) VALUES ?', [products]);
    const orders = Array.from({ length: sizes.orders }, (_, i) => {
      const product = (i % sizes.products) + 1;
      const quantity = (i % 4) + 1;
      return [(i * 7) % sizes.users + 1, product, quantity, quantity * prices[product - 1]!];
    });
    await connection.query('INSERT INTO orders (user_id, product_id, quantity, total_cents) VALUES ?', [orders]);
    // A page's worth of orders for each of the first LIST_USERS users, for the list scenarios.
    const listed = Array.from({ length: LIST_USERS * 20 }, (_, i) => [(i % LIST_USERS) + 1, (i % sizes.products) + 1, 1, prices[i % sizes.products]!]);
    await connection.query('INSERT INTO orders (user_id, product_id, quantity, total_cents) VALUES ?', [listed]);
  } finally {
    await connection.end();
  }
}

/** One pass of reads through a caching service: every user and product, and the newest 100 orders. */
export async function warm(url: string, sizes: SeedSizes = SEED): Promise<void> {
  for (let first = 1; first <= sizes.users; first += 100) {
    await gql(url, QUERIES.users, { ids: idWindow(first, Math.min(100, sizes.users - first + 1), sizes.users) });
  }
  await gql(url, QUERIES.products, { ids: idWindow(1, sizes.products, sizes.products) });
  await gql(url, QUERIES.recentOrders, { limit: 100 });
}
