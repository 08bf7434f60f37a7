import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * A client (or an attacker) sending thousands of distinct operations, through the
 * whole HTTP stack: every answer right, and what the compiled executor keeps bounded
 * by GRAPHQL_JIT_CACHE_SIZE.
 */
const CACHE_SIZE = 32;
const OPERATIONS = 2_400;
let jit: TestServer;
let standard: TestServer;

beforeAll(async () => {
  // Compiling every operation at first sight: the most compiling and evicting a flood can cause.
  jit = await startTestServer({ graphql: { executor: { kind: 'jit', cacheSize: CACHE_SIZE, compileAfter: 0 } } });
  standard = await startTestServer({ graphql: { executor: { kind: 'standard', cacheSize: CACHE_SIZE, compileAfter: 1 } } });
  for (const s of [jit, standard]) {
    for (const i of [1, 2, 3]) await s.core.users.create({ name: `user ${i}`, email: `u${i}@example.com`, bio: null });
  }
});
afterAll(async () => {
  await jit?.close();
  await standard?.close();
});

async function metrics(s: TestServer): Promise<Map<string, number>> {
  const text = await (await fetch(s.url.replace(/\/graphql$/, '/metrics'))).text();
  return new Map([...text.matchAll(/^(throughline_graphql_[a-z_]+(?:\{[^}]*\})?) (\S+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** Heap in use after a full collection (gc exposed for this test only). */
function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

/** The i-th operation: distinct text each time, and what it must answer. */
function nth(i: number): { body: object; check: (status: number, json: any) => void } {
  const id = (i % 3) + 1;
  if (i % 10 === 7) {
    // A variable graphql-jit refuses: answered by graphql-js, 400 BAD_USER_INPUT as ever.
    return {
      body: { query: `query V${i}($id: ID!) { user(id: $id) { id } }`, variables: { id: null } },
      check: (status, json) => {
        expect(status).toBe(400);
        expect(json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      },
    };
  }
  if (i % 10 === 3) {
    // Sent twice (as i and i + 10): the second run may find it compiled, or evicted.
    const k = Math.floor(i / 20);
    const user = (k % 3) + 1;
    return {
      body: { query: `query R${k} { a${k}: user(id: "${user}") { name } }` },
      check: (status, json) => expect([status, json]).toEqual([200, { data: { [`a${k}`]: { name: `user ${user}` } } }]),
    };
  }
  return {
    body: { query: `query Q${i} { user(id: "${id}") { id ${i % 2 ? 'email' : 'name'} } }` },
    check: (status, json) => expect([status, json]).toEqual([200, { data: { user: { id: String(id), ...(i % 2 ? { email: `u${id}@example.com` } : { name: `user ${id}` }) } } }]),
  };
}

/** Sends the operations from..until-1, eight at a time, checking every answer. */
async function flood(s: TestServer, from: number, until: number): Promise<void> {
  const token = await s.token(['read']);
  let next = from;
  const worker = async () => {
    while (next < until) {
      const { body, check } = nth(next++);
      const res = await fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      check(res.status, await res.json());
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** Heap growth over the last two thirds of the flood, once the first third has filled the caches. */
async function heapGrowth(s: TestServer): Promise<number> {
  await flood(s, 0, OPERATIONS / 3);
  const before = heapAfterGc();
  await flood(s, OPERATIONS / 3, OPERATIONS);
  return heapAfterGc() - before;
}

describe('a flood of distinct operations', () => {
  it(`answers ${OPERATIONS.toLocaleString('en-US')} of them correctly, keeps at most ${CACHE_SIZE} compiled, and grows the heap no more than graphql-js does`, async () => {
    const before = await metrics(jit);
    const jitGrowth = await heapGrowth(jit);
    const standardGrowth = await heapGrowth(standard);
    console.log(`heap growth over ${(OPERATIONS * 2) / 3} distinct operations: jit ${mib(jitGrowth)}, standard ${mib(standardGrowth)}`);
    const after = await metrics(jit);
    const ran = (executor: string) =>
      (after.get(`throughline_graphql_executions_total{executor="${executor}"}`) ?? 0) - (before.get(`throughline_graphql_executions_total{executor="${executor}"}`) ?? 0);

    // Every operation ran compiled, but the variables graphql-jit refused.
    const refused = OPERATIONS / 10;
    expect(ran('jit')).toBe(OPERATIONS - refused);
    expect(ran('standard')).toBe(refused);
    expect(after.get('throughline_graphql_compiled_operations')).toBeLessThanOrEqual(CACHE_SIZE);
    // Apollo's own document cache grows the same way under both; a leak of a
    // compiled function per operation would be megabytes more.
    expect(jitGrowth - standardGrowth).toBeLessThan(4 * 2 ** 20);
  }, 120_000);
});

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
