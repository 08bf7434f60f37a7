/**
 * What a user would build instead of Throughline, in an afternoon, from the committed
 * schema.graphql: the references every performance target of `npm run bench` is a
 * ratio to. One process each, chosen by REFERENCE:
 *
 * - `floor`: Apollo Server 5's startStandaloneServer over constant resolvers, no
 *   plugins. The most any Apollo server answers per second on this machine.
 * - `peer`: the same server with a DataLoader per request over a mysql2 pool
 *   (`SELECT * FROM users WHERE id IN (?)`), and `updateUser` as BEGIN / UPDATE … SET
 *   …, version = version + 1 / SELECT / COMMIT. No ORM, no cache.
 * - `response-cache`: the peer behind Apollo's whole-response cache
 *   (@apollo/server-plugin-response-cache, in memory, every response public for 60 s),
 *   what a user reaches for to make it fast; it serves the old value after a write.
 *
 * Every request's JWT is verified (jose, HS256, JWT_SECRET), as a user would in the
 * context function; mutations need the `write` scope. PORT, HOST, MYSQL_URL and
 * JWT_SECRET come from the environment. It serves GraphQL on every path, as
 * startStandaloneServer does; the bench knows it is up when `{ __typename }` answers.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import responseCachePlugin from '@apollo/server-plugin-response-cache';
import { startStandaloneServer } from '@apollo/server/standalone';
import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import { jwtVerify } from 'jose';
import mysql, { type Pool, type RowDataPacket } from 'mysql2/promise';

type Kind = 'floor' | 'peer' | 'response-cache';
const KIND = (process.env.REFERENCE ?? 'peer') as Kind;
const typeDefs = readFileSync(resolve(__dirname, '../../schema.graphql'), 'utf8');
const secret = new TextEncoder().encode(process.env.JWT_SECRET ?? '');

interface Context {
  scopes: Set<string>;
  loaders?: Loaders;
}

async function contextFor(authorization: string | undefined, pool: Pool | undefined): Promise<Context> {
  let scopes = new Set<string>();
  if (authorization?.startsWith('Bearer ')) {
    try {
      const { payload } = await jwtVerify(authorization.slice(7), secret, { algorithms: ['HS256'] });
      scopes = new Set(String(payload.scope ?? '').split(' '));
    } catch {
      throw new GraphQLError('bad token', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
    }
  }
  return { scopes, ...(pool ? { loaders: loaders(pool) } : {}) };
}

// ── the peer: DataLoader over mysql2 ─────────────────────────────────────────────

const toIso = (d: unknown) => (d instanceof Date ? d.toISOString() : d);
const user = (r: RowDataPacket) => ({ id: r.id, name: r.name, email: r.email, bio: r.bio, version: r.version, createdAt: toIso(r.created_at), updatedAt: toIso(r.updated_at) });
const product = (r: RowDataPacket) => ({ id: r.id, sku: r.sku, name: r.name, priceCents: r.price_cents, stock: r.stock, version: r.version, updatedAt: toIso(r.updated_at) });
const order = (r: RowDataPacket) => ({ id: r.id, userId: r.user_id, productId: r.product_id, quantity: r.quantity, totalCents: r.total_cents, createdAt: toIso(r.created_at) });

function byIds<T>(pool: Pool, table: string, shape: (r: RowDataPacket) => T) {
  return new DataLoader<number, T | null>(async (ids) => {
    const [rows] = await pool.query<RowDataPacket[]>(`SELECT * FROM ${table} WHERE id IN (?)`, [ids]);
    const found = new Map(rows.map((r) => [r.id as number, shape(r)]));
    return ids.map((id) => found.get(id) ?? null);
  });
}

type Loaders = ReturnType<typeof loaders>;
function loaders(pool: Pool) {
  return { user: byIds(pool, 'users', user), product: byIds(pool, 'products', product), order: byIds(pool, 'orders', order) };
}

function needsWrite(ctx: Context): void {
  if (!ctx.scopes.has('write')) throw new GraphQLError('needs write', { extensions: { code: 'FORBIDDEN' } });
}

function peerResolvers(pool: Pool) {
  return {
    Query: {
      user: (_: unknown, { id }: { id: string }, ctx: Context) => ctx.loaders!.user.load(Number(id)),
      users: (_: unknown, { ids }: { ids: string[] }, ctx: Context) => Promise.all(ids.map((id) => ctx.loaders!.user.load(Number(id)))),
      product: (_: unknown, { id }: { id: string }, ctx: Context) => ctx.loaders!.product.load(Number(id)),
      products: (_: unknown, { ids }: { ids: string[] }, ctx: Context) => Promise.all(ids.map((id) => ctx.loaders!.product.load(Number(id)))),
      order: (_: unknown, { id }: { id: string }, ctx: Context) => ctx.loaders!.order.load(Number(id)),
      recentOrders: async (_: unknown, { limit }: { limit: number }, ctx: Context) => {
        const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM orders ORDER BY created_at DESC, id DESC LIMIT ?', [limit]);
        return rows.map((r) => {
          const o = order(r);
          ctx.loaders!.order.prime(o.id, o);
          return o;
        });
      },
    },
    // A page of a user's orders: one indexed SELECT … LIMIT per page, the products through their loader.
    User: {
      orders: async (u: { id: number }, { first, after }: { first: number; after?: string | null }, ctx: Context) => {
        const before = after ? Number(Buffer.from(after, 'base64url').toString()) : Number.MAX_SAFE_INTEGER;
        const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM orders WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?', [u.id, before, first + 1]);
        const edges = rows.slice(0, first).map((r) => {
          const o = order(r);
          ctx.loaders!.order.prime(o.id, o);
          return { cursor: Buffer.from(String(o.id)).toString('base64url'), node: o };
        });
        return { edges, pageInfo: { hasNextPage: rows.length > first, hasPreviousPage: false, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null } };
      },
    },
    Order: {
      user: (o: { userId: number }, _: unknown, ctx: Context) => ctx.loaders!.user.load(o.userId),
      product: (o: { productId: number }, _: unknown, ctx: Context) => ctx.loaders!.product.load(o.productId),
    },
    Mutation: {
      updateUser: async (_: unknown, args: { id: string; input: Record<string, string | null>; expectedVersion?: number }, ctx: Context) => {
        needsWrite(ctx);
        const fields = Object.entries(args.input).filter(([k]) => ['name', 'email', 'bio'].includes(k));
        const connection = await pool.getConnection();
        try {
          await connection.beginTransaction();
          const set = [...fields.map(([k]) => `${k} = ?`), 'version = version + 1'].join(', ');
          const where = args.expectedVersion === undefined || args.expectedVersion === null ? 'id = ?' : 'id = ? AND version = ?';
          const params = [...fields.map(([, v]) => v), Number(args.id), ...(where.includes('version') ? [args.expectedVersion] : [])];
          const [result] = await connection.query<mysql.ResultSetHeader>(`UPDATE users SET ${set} WHERE ${where}`, params);
          if (result.affectedRows === 0) throw new GraphQLError('not found or stale', { extensions: { code: 'CONFLICT' } });
          const [rows] = await connection.query<RowDataPacket[]>('SELECT * FROM users WHERE id = ?', [Number(args.id)]);
          await connection.commit();
          return user(rows[0]!);
        } catch (err) {
          await connection.rollback();
          throw err;
        } finally {
          connection.release();
        }
      },
    },
  };
}

// ── the floor: constant resolvers ────────────────────────────────────────────────

const CREATED = '2026-01-01T00:00:00.000Z';
const constUser = (id: number) => ({ id, name: `Bench user ${id}`, email: `user${id}@bench.test`, bio: null, version: 1, createdAt: CREATED, updatedAt: CREATED });
const constProduct = (id: number) => ({ id, sku: `SKU-${id}`, name: `Product ${id}`, priceCents: 100, stock: 1_000_000, version: 1, updatedAt: CREATED });
const constOrder = (id: number) => ({ id, userId: ((id * 7) % 1000) + 1, productId: (id % 50) + 1, quantity: 1, totalCents: 100, createdAt: CREATED });
const floorResolvers = {
  Query: {
    user: (_: unknown, { id }: { id: string }) => constUser(Number(id)),
    users: (_: unknown, { ids }: { ids: string[] }) => ids.map((id) => constUser(Number(id))),
    product: (_: unknown, { id }: { id: string }) => constProduct(Number(id)),
    products: (_: unknown, { ids }: { ids: string[] }) => ids.map((id) => constProduct(Number(id))),
    order: (_: unknown, { id }: { id: string }) => constOrder(Number(id)),
    recentOrders: (_: unknown, { limit }: { limit: number }) => Array.from({ length: limit }, (_, i) => constOrder(500 - i)),
  },
  Order: { user: (o: { userId: number }) => constUser(o.userId), product: (o: { productId: number }) => constProduct(o.productId) },
};

async function main(): Promise<void> {
  const pool = KIND === 'floor' ? undefined : mysql.createPool({ uri: process.env.MYSQL_URL!, connectionLimit: 10 });
  const plugins: ApolloServerPlugin<Context>[] =
    KIND === 'response-cache' ? [ApolloServerPluginCacheControl({ defaultMaxAge: 60 }), responseCachePlugin()] : [];
  const apollo = new ApolloServer<Context>({ typeDefs, resolvers: pool ? peerResolvers(pool) : floorResolvers, plugins });
  await startStandaloneServer(apollo, {
    listen: { port: Number(process.env.PORT ?? 4100), host: process.env.HOST ?? '127.0.0.1' },
    context: async ({ req }) => contextFor(req.headers.authorization, pool),
  });
  const stop = async () => {
    await apollo.stop();
    await pool?.end();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
