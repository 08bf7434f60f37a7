import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MySqlDeadlineError } from '../../src/db/deadlines';
import { users, writeIntents } from '../../src/db/schema';
import { DatabaseUnavailableError } from '../../src/errors';
import type { RepositoryHooks } from '../../src/writethrough/repository';
import { createTestCore, type TestCore } from '../helpers/core';
import { pollUntil } from '../helpers/poll';
import { startTestServer, type TestServer } from '../helpers/server';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

/**
 * MySQL behind a TCP proxy that the tests blackhole: connections stay open and nothing
 * comes back, as from a stopped (SIGSTOP) server or a network that drops packets.
 */
const DEADLINES = { statementMs: 300, transactionMs: 800 };
/** Timers, the rollback of a closed connection, the answer: what a deadline may overrun by. */
const MARGIN_MS = 400;
let proxy: TcpProxy;
const hooks: RepositoryHooks = {};
let t: TestCore;
/** The core's own connections, straight to MySQL, to look at what was written. */
let direct: TestCore;

beforeAll(async () => {
  proxy = await startTcpProxy({ host: '127.0.0.1', port: 3306 });
  direct = await createTestCore();
  t = await createTestCore({ mysqlThroughPort: proxy.port, database: direct.database, keyPrefix: direct.settings.keyPrefix, deadlines: DEADLINES, hooks });
});
afterAll(async () => {
  await proxy?.restore();
  await t?.close();
  await direct?.close();
  await proxy?.close();
});
afterEach(async () => {
  delete hooks.beforeCommit;
  await proxy.restore();
});

let seq = 0;
const newUser = () => direct.core.users.create({ name: 'Bounded', email: `dl${++seq}-${Date.now()}@example.com` });
const inMysql = async (id: number) => (await direct.db.select().from(users).where(eq(users.id, id)))[0];

/** An error and every cause under it. */
function causes(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = err; e !== undefined && chain.length < 10; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

/** How long `work` took to fail, and with what. */
async function failure(work: () => Promise<unknown>): Promise<{ err: unknown; ms: number }> {
  const started = Date.now();
  try {
    await work();
  } catch (err) {
    return { err, ms: Date.now() - started };
  }
  throw new Error('it did not fail');
}

describe('MySQL deadlines', () => {
  it('fail a write whose statement MySQL does not answer with SERVICE_UNAVAILABLE, within the statement deadline', async () => {
    const user = await newUser();
    proxy.blackhole();
    const { err, ms } = await failure(() => t.core.users.update(user.id, { name: 'Never answered' }));
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect(causes(err).some((e) => e instanceof MySqlDeadlineError)).toBe(true);
    expect(ms).toBeLessThan(DEADLINES.statementMs + MARGIN_MS);
  });

  it('lose no track of a COMMIT sent but never answered: either nothing was written, or the write and its intent were', async () => {
    const user = await newUser();
    hooks.beforeCommit = () => proxy.blackhole(); // the UPDATE … COMMIT round trip goes out and is not answered
    await expect(t.core.users.update(user.id, { name: 'Unconfirmed' })).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await proxy.restore(); // MySQL may now read the COMMIT it was sent
    // Settled once its row lock is gone: NOWAIT fails while the transaction is still open.
    await pollUntil('the transaction settled', () => direct.pool.query('SELECT id FROM users WHERE id = ? FOR UPDATE NOWAIT', [user.id]));
    const row = (await inMysql(user.id))!;
    const intents = await direct.db.select().from(writeIntents).where(eq(writeIntents.entityId, user.id));
    if (row.version === 1) expect(row.name).toBe('Bounded');
    else expect(intents.map((i) => i.version)).toContain(row.version); // the sweep will bring the cache to it
  });

  it('end a transaction that holds its connection past the transaction deadline, before its COMMIT is sent: nothing is written', async () => {
    const user = await newUser();
    hooks.beforeCommit = () => new Promise((resolve) => setTimeout(resolve, DEADLINES.transactionMs + 100));
    const { err, ms } = await failure(() => t.core.users.update(user.id, { name: 'Too slow' }));
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect(ms).toBeLessThan(DEADLINES.transactionMs + 100 + MARGIN_MS);
    expect(await inMysql(user.id)).toMatchObject({ version: 1 });
  });

  it('bound the wait for a free connection by the transaction deadline (the pool holds one)', async () => {
    const user = await newUser();
    let release!: () => void;
    hooks.beforeCommit = () => new Promise<void>((resolve) => (release = resolve));
    const holding = t.core.users.update(user.id, { name: 'Holding the connection' });
    const { err, ms } = await failure(() => t.core.users.update(user.id, { name: 'Waiting for it' }));
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect(ms).toBeLessThan(DEADLINES.transactionMs + MARGIN_MS);
    release();
    await holding.catch(() => undefined);
  });

  it('leave the pool working once MySQL answers again', async () => {
    const user = await newUser();
    proxy.blackhole();
    await expect(t.core.users.update(user.id, { name: 'Lost' })).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await proxy.restore();
    expect(await t.core.users.update(user.id, { name: 'Answered' })).toMatchObject({ name: 'Answered', version: 2 });
  });
});

describe('a service whose MySQL stops answering', () => {
  let s: TestServer;
  let serverProxy: TcpProxy;
  beforeAll(async () => {
    serverProxy = await startTcpProxy({ host: '127.0.0.1', port: 3306 });
    s = await startTestServer({ mysqlThroughPort: serverProxy.port, deadlines: DEADLINES, poolSize: 4 });
  });
  afterAll(async () => {
    await serverProxy?.restore();
    await s?.close();
    await serverProxy?.close();
  });

  it('answers each mutation SERVICE_UNAVAILABLE within the deadline, and /readyz 503 within a second', async () => {
    const created = await s.gql(`mutation { createUser(input: { name: "Before", email: "before-${Date.now()}@example.com" }) { id } }`);
    const id = created.data!.createUser.id;
    serverProxy.blackhole();
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => s.gql(`mutation($id: ID!) { updateUser(id: $id, input: { name: "During ${i}" }) { id } }`, { id })),
    );
    for (const res of answers) expect(res.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    // Six writes on four connections: the last two wait for a connection, within the
    // transaction deadline. Six answers, not one, to overrun by: 200 ms more (on two
    // cores shared with the other test files, 400 was once overrun by 75 ms).
    expect(Date.now() - started).toBeLessThan(DEADLINES.transactionMs + MARGIN_MS + 200);
    const readyStarted = Date.now();
    const ready = await fetch(new URL('/readyz', s.url));
    expect(ready.status).toBe(503);
    expect(Date.now() - readyStarted).toBeLessThan(1_000 + MARGIN_MS);
    await serverProxy.restore();
    const after = await s.gql(`mutation($id: ID!) { updateUser(id: $id, input: { name: "After" }) { version } }`, { id });
    expect(after).toMatchObject({ data: { updateUser: { version: 2 } } });
  });
});
