import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * A known sequence — warm reads, misses, one forced cache-write failure and its
 * repair — and the exact change it makes to what GET /metrics says.
 */
let redis: PrivateRedis;
let s: TestServer;

beforeAll(async () => {
  redis = await startPrivateRedis();
  s = await startTestServer({ redisUrl: redis.url, commandTimeoutMs: 100, settings: { writeRetries: 2, writeRetryDelayMs: 5 } });
});
afterAll(async () => {
  await s?.close();
  await redis?.kill();
});

type Sample = Map<string, number>;

/** `name{a="1",b="2"} 3` lines → { 'name{a="1",b="2"}' → 3 }, labels as written. */
async function scrape(): Promise<Sample> {
  const res = await fetch(s.url.replace(/\/graphql$/, '/metrics'));
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples: Sample = new Map();
  for (const line of (await res.text()).split('\n')) {
    const match = /^(throughline_[a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

const delta = (before: Sample, after: Sample, key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);

describe('GET /metrics', () => {
  it('counts exactly what a known sequence of reads, misses, a failed write and its repair did', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push((await s.gql(`mutation { createUser(input: { name: "M${i}", email: "m${i}-${Date.now()}@example.com" }) { id } }`)).data!.createUser.id);
    }
    const before = await scrape();

    // 3 warm batches of 4: 12 hits, 3 batches of 4.
    for (let i = 0; i < 3; i++) await s.gql(`query Warm($ids: [ID!]!) { users(ids: $ids) { id } }`, { ids });
    // 2 ids that do not exist: 2 misses, then 2 negative hits.
    await s.gql(`query Missing { users(ids: ["900001", "900002"]) { id } }`);
    await s.gql(`query Missing { users(ids: ["900001", "900002"]) { id } }`);
    // One update whose cache write fails: 3 attempts (1 + 2 retries), 1 failure.
    await redis.kill();
    await s.gql(`mutation Fail($id: ID!) { updateUser(id: $id, input: { name: "x" }) { id } }`, { id: ids[0] });
    const failed = await scrape();
    expect(failed.get('throughline_write_through_backlog')).toBe(1);
    await redis.restart();
    await pollUntil('Redis back', () => s.redis.status === 'ready');
    expect(await s.core.repairWorker.runOnce()).toMatchObject({ repaired: 1 });
    const after = await scrape();

    const d = (key: string) => delta(before, after, key);
    expect({
      hits: d('throughline_cache_lookups_total{entity="user",result="hit"}'),
      negativeHits: d('throughline_cache_lookups_total{entity="user",result="negative_hit"}'),
      misses: d('throughline_cache_lookups_total{entity="user",result="miss"}'),
      batches: d('throughline_loader_batch_size_count{entity="user"}'),
      batchedIds: d('throughline_loader_batch_size_sum{entity="user"}'),
      failedAttempts: d('throughline_cache_write_attempts_total{entity="user",outcome="error"}'),
      retries: d('throughline_cache_write_retries_total{entity="user"}'),
      failures: d('throughline_write_through_failures_total{entity="user"}'),
      repairs: d('throughline_repairs_total{entity="user",outcome="repaired"}'),
      warmOperations: d('throughline_graphql_operation_seconds_count{operation="Warm",outcome="ok"}'),
      failOperations: d('throughline_graphql_operation_seconds_count{operation="Fail",outcome="ok"}'),
      mgets: d('throughline_redis_call_seconds_count{operation="mget",ok="true"}'),
    }).toEqual({
      hits: 12,
      negativeHits: 2,
      misses: 2,
      batches: 5,
      batchedIds: 16,
      failedAttempts: 3,
      retries: 2,
      failures: 1,
      repairs: 1,
      warmOperations: 3,
      failOperations: 1,
      mgets: 5,
    });
    expect(after.get('throughline_write_through_backlog')).toBe(0);
    expect(after.get('throughline_redis_circuit_state')).toBe(0);
    expect(after.has('throughline_process_cpu_seconds_total')).toBe(true); // default process metrics
  });

  it('keeps operation names bounded: a name that is not an identifier is "other"', async () => {
    const before = await scrape();
    await fetch(s.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }', operationName: 'not an identifier' }),
    });
    await s.gql('query { __typename }');
    const after = await scrape();
    expect(delta(before, after, 'throughline_graphql_operation_seconds_count{operation="anonymous",outcome="ok"}')).toBe(1);
    expect([...after.keys()].some((k) => k.includes('not an identifier'))).toBe(false);
  });
});

describe('cacheStatus', () => {
  it('gives an admin the same numbers as the metrics, and refuses anyone else', async () => {
    const query = '{ cacheStatus { instance backlog circuit redis mysql hitRatio lookups { hits negativeHits misses bypassed } series { at hits misses } } }';
    const res = await s.gql(query, undefined, { token: await s.token(['admin']) });
    expect(res.errors).toBeUndefined();
    const status = res.data!.cacheStatus;
    expect(status).toMatchObject({ instance: 'test-instance', backlog: 0, circuit: 'none', redis: 'ok', mysql: 'ok' });
    const metrics = await scrape();
    expect(status.lookups.hits).toBe(metrics.get('throughline_cache_lookups_total{entity="user",result="hit"}'));
    expect(status.series).toHaveLength(60);
    expect(status.hitRatio).toBeGreaterThan(0);
    const refused = await s.gql(query, undefined, { token: await s.token(['read', 'write']) });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('GET /metrics behind a token (METRICS_ACCESS=token, the production default)', () => {
  const METRICS_TOKEN = 'a-scrape-token-of-at-least-32-characters';
  let guarded: TestServer;
  beforeAll(async () => {
    guarded = await startTestServer({ http: { metrics: { access: 'token', token: METRICS_TOKEN } } });
  });
  afterAll(async () => {
    await guarded?.close();
  });
  const metrics = (authorization?: string) =>
    fetch(guarded.url.replace(/\/graphql$/, '/metrics'), authorization ? { headers: { authorization } } : {});

  it('answers the scraper that sends METRICS_TOKEN, and an admin JWT', async () => {
    for (const authorization of [`Bearer ${METRICS_TOKEN}`, `Bearer ${await guarded.token(['admin'])}`]) {
      const res = await metrics(authorization);
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^# HELP /m);
    }
  });

  it.each([
    ['no token', undefined, 401, 'UNAUTHENTICATED'],
    ['a wrong token', `Bearer ${METRICS_TOKEN.replace('a', 'b')}`, 401, 'UNAUTHENTICATED'],
    ['a token one character short', `Bearer ${METRICS_TOKEN.slice(1)}`, 401, 'UNAUTHENTICATED'],
  ])('refuses %s with a coded 401 and no metrics', async (_, authorization, status, code) => {
    const res = await metrics(authorization);
    expect(res.status).toBe(status);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    const body = (await res.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(body.errors[0]!.extensions.code).toBe(code);
  });

  it('refuses a valid JWT without the admin scope with a coded 403', async () => {
    const res = await metrics(`Bearer ${await guarded.token(['read', 'write'])}`);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('FORBIDDEN');
  });
});
