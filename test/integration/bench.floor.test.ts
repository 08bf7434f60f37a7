import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMetrics, startFloor, type BenchProcess } from '../../bench/lib/processes';
import { issueToken, makeUpSecret } from '../../src/auth/tokens';

/**
 * The bench's no-I/O floor (bench/floor-server.ts) stands in for the core with a
 * cast, so nothing but running it shows that it still fits what the service's stack
 * asks of a core. It is started the way `npm run bench` starts it (production
 * defaults), and asked what the bench asks: reads of every entity and /metrics.
 */
describe('the bench floor server', () => {
  let floor: BenchProcess;
  let token: string;
  beforeAll(async () => {
    const jwtSecret = makeUpSecret();
    floor = await startFloor({ jwtSecret, name: 'floor-under-test' });
    token = await issueToken(jwtSecret, ['read']);
  }, 60_000);
  afterAll(() => floor?.stop());

  const gql = async (query: string) => {
    const response = await fetch(floor.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    });
    return { status: response.status, body: (await response.json()) as { data?: any; errors?: unknown } };
  };

  it('answers reads of every entity from its constant rows, lists and nested fields included', async () => {
    const { status, body } = await gql(
      '{ users(ids: ["1", "2"]) { id name } product(id: "3") { sku } reviews(ids: ["4"]) { rating user { id } product { id } } recentOrders(limit: 2) { id user { name } product { name } } }',
    );
    expect({ status, errors: body.errors }).toEqual({ status: 200, errors: undefined });
    expect(body.data.users).toEqual([
      { id: '1', name: 'Bench user 1' },
      { id: '2', name: 'Bench user 2' },
    ]);
    expect(body.data.product).toEqual({ sku: 'SKU-3' });
    expect(body.data.reviews).toHaveLength(1);
    expect(body.data.recentOrders).toHaveLength(2);
  });

  it('serves /metrics to the bench with the token it was started with', async () => {
    expect(await readMetrics(floor)).toMatch(/^# TYPE throughline_graphql_executions_total counter$/m);
  });
});
