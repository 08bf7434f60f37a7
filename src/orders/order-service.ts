import { and, eq, gte, sql } from 'drizzle-orm';
import { orders, products, users, type OrderRow } from '../db/schema';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors';
import { assertId, type Repository } from '../writethrough/repository';
import type { CallScope } from '../writethrough/logger';
import type { Transaction, UnitOfWork } from '../writethrough/unit-of-work';

export const MAX_ORDER_QUANTITY = 10_000;
/** The largest total an order may come to: what GraphQL's Int (`totalCents: Int!`) can answer. */
export const MAX_ORDER_TOTAL_CENTS = 2 ** 31 - 1;
export const MAX_RECENT_ORDERS = 100;

export interface PlaceOrder {
  userId: number;
  productId: number;
  quantity: number;
}

/**
 * Orders touch two tables at once: placing one takes stock from a product and
 * records the order, in one transaction, and then writes both rows through to the
 * cache in one pipeline.
 */
export class OrderService {
  constructor(
    private readonly work: UnitOfWork,
    private readonly repositories: {
      products: Repository<typeof products>;
      orders: Repository<typeof orders>;
    },
  ) {}

  async place({ userId, productId, quantity }: PlaceOrder, scope?: CallScope): Promise<OrderRow> {
    assertId(userId);
    assertId(productId);
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_ORDER_QUANTITY) {
      throw new InvalidInputError(`quantity must be a whole number from 1 to ${MAX_ORDER_QUANTITY}`, 'quantity');
    }
    return this.work.run('order', scope, async (tx) => {
      await this.assertUserExists(tx, userId);
      await this.takeStock(tx, productId, quantity);
      const product = await this.repositories.products.selectOne(tx, productId);
      const totalCents = product.priceCents * quantity;
      // Refused before anything commits (the throw rolls the stock back): an order
      // whose total GraphQL cannot answer would commit and then fail its own mutation,
      // and every recentOrders that lists it.
      if (totalCents > MAX_ORDER_TOTAL_CENTS) {
        throw new InvalidInputError(`the order would come to ${totalCents} cents, over the ${MAX_ORDER_TOTAL_CENTS} an order may total`, 'quantity');
      }
      const [header] = await tx.insert(orders).values({ userId, productId, quantity, totalCents });
      await this.work.beforeCommit({ entity: 'order', operation: 'create', id: header.insertId });
      const order = await this.repositories.orders.selectOne(tx, header.insertId);
      return {
        result: order,
        writes: [
          ...this.repositories.products.cacheWrites('update', product),
          ...this.repositories.orders.cacheWrites('create', order),
          // The user's, the product's and the newest orders: written through with the rows.
          ...(await this.repositories.orders.listWrites(tx, order, 'create')),
        ],
      };
    });
  }

  /**
   * For a clear NOT_FOUND. No lock is needed: the INSERT's foreign key check locks
   * the user row itself, so a user deleted in between fails the INSERT instead.
   */
  private async assertUserExists(tx: Transaction, userId: number): Promise<void> {
    const [user] = await tx.select({ id: users.id }).from(users).where(eq(users.id, userId));
    if (!user) throw new NotFoundError('user', userId);
  }

  /**
   * Takes the stock only if enough is left, in the same UPDATE that checks it: two
   * orders racing for the last items cannot both pass a check made in a separate
   * SELECT, because the row lock makes the second UPDATE see the first one's result.
   */
  private async takeStock(tx: Transaction, productId: number, quantity: number): Promise<void> {
    const [header] = await tx
      .update(products)
      .set({ stock: sql`${products.stock} - ${quantity}`, version: sql`${products.version} + 1` })
      .where(and(eq(products.id, productId), gte(products.stock, quantity)));
    if (header.affectedRows > 0) return;
    const [product] = await tx.select({ stock: products.stock }).from(products).where(eq(products.id, productId));
    if (!product) throw new NotFoundError('product', productId);
    throw new ConflictError(`product ${productId} has ${product.stock} in stock, not the ${quantity} ordered`, {
      available: product.stock,
      requested: quantity,
    });
  }
}
