import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cachedEntities, type CachedEntity } from '../../src/tools/entities';
import { warmEntity, type WarmOptions } from '../../src/tools/warm';
import { createTestCore, type TestCore } from '../helpers/core';
import { REDIS_URL } from '../helpers/database';
import { pollUntil } from '../helpers/poll';
import { runTool, startTool } from '../helpers/tool-process';

const USERS = 1050; // ten full chunks of 100 and a short one
let t: TestCore;
let user: CachedEntity;
let ids: number[];

beforeAll(async () => {
  t = await createTestCore();
  user = cachedEntities(t.core).user;
  const values = Array.from({ length: USERS }, (_, i) => [`Warm ${i}`, `warm${i}@example.com`, i % 2 ? null : `bio ${i}`]);
  await t.pool.query('INSERT INTO users (name, email, bio) VALUES ?', [values]);
  const [rows] = await t.pool.query('SELECT id FROM users ORDER BY id');
  ids = (rows as Array<{ id: number }>).map((r) => r.id);
});
afterAll(() => t?.close());
beforeEach(() => clearCache());

const warm = (options: WarmOptions = {}) => warmEntity({ db: t.db, cache: t.core.cache }, user, { chunk: 100, ...options });

async function cachedUserKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of t.redis.scanStream({ match: `${t.settings.keyPrefix}user:*`, count: 1000 })) keys.push(...(batch as string[]));
  return keys;
}

async function clearCache(): Promise<void> {
  const keys = await cachedUserKeys();
  if (keys.length > 0) await t.redis.unlink(...keys);
}

describe('warmEntity', () => {
  it('caches every row at its committed version, so loading them all costs no SQL', async () => {
    const summary = await warm();
    expect(summary).toMatchObject({ entity: 'user', rows: USERS, set: USERS, alreadyNewer: 0, failed: 0, interrupted: false });
    expect(summary.perSecond).toBeGreaterThan(0);

    await t.serverStatements();
    const cached = await t.core.users.load(ids);
    expect(await t.serverStatements()).toBe(0);
    expect(cached).toEqual(await t.core.users.selectByIds(ids));
    // With the TTL every cache write carries.
    expect(await t.redis.pttl(user.layout.key(ids[0]!))).toBeGreaterThan(0);
  });

  it('never overwrites a newer version that is already cached', async () => {
    const id = ids[123]!;
    const [row] = await t.core.users.selectByIds([id]);
    const newer = { ...row!, name: 'Written by a later update', version: row!.version + 5 };
    await t.core.cache.casSetMany([user.layout.rowWrite(newer, Date.now())]);

    const summary = await warm();
    expect(summary).toMatchObject({ rows: USERS, set: USERS - 1, alreadyNewer: 1, failed: 0 });
    expect(await t.core.users.load([id])).toEqual([newer]);
  });

  it('sets nothing when run again: every key is already current', async () => {
    await warm();
    expect(await warm()).toMatchObject({ rows: USERS, set: 0, alreadyNewer: USERS, failed: 0 });
  });

  it('stops after the chunk in hand when aborted, and a second run finishes the job', async () => {
    const controller = new AbortController();
    const first = await warm({ signal: controller.signal, onProgress: () => controller.abort() });
    expect(first).toMatchObject({ rows: 100, set: 100, interrupted: true });
    expect(await cachedUserKeys()).toHaveLength(100);

    const second = await warm();
    expect(second).toMatchObject({ rows: USERS, set: USERS - 100, alreadyNewer: 100, interrupted: false });
    expect(await cachedUserKeys()).toHaveLength(USERS);
  });

  it('reports progress after every chunk, up to the total', async () => {
    const progress: Array<[number, number]> = [];
    await warm({ onProgress: (done, total) => progress.push([done, total]) });
    expect(progress).toEqual([
      ...Array.from({ length: 10 }, (_, i): [number, number] => [(i + 1) * 100, USERS]),
      [USERS, USERS],
    ]);
  });
});

describe('npm run cache:warm', () => {
  const env = () => ({ MYSQL_URL: t.database.url, REDIS_URL, KEY_PREFIX: t.settings.keyPrefix });
  const summaryLine = (rows: number, set: number, current: number) =>
    new RegExp(`^user: ${rows} rows, ${set} set, ${current} already current, 0 failed in \\d+\\.\\d s \\([\\d,]+/s\\)$`);

  it('prints one summary line per entity and exits 0; all entities by default', async () => {
    const first = await runTool('scripts/cache-warm.ts', ['user', '--chunk', '200'], env());
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout.trimEnd()).toMatch(summaryLine(USERS, USERS, 0));

    const again = await runTool('scripts/cache-warm.ts', [], env());
    expect(again.code).toBe(0);
    const lines = again.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(summaryLine(USERS, 0, USERS));
    expect(lines[1]).toMatch(/^product: 0 rows, 0 set/);
    expect(lines[2]).toMatch(/^order: 0 rows, 0 set/);
    expect(lines[3]).toMatch(/^review: 0 rows, 0 set/);
  });

  it('stops on Ctrl-C after the current chunk, prints what it did and exits 130', async () => {
    const run = startTool('scripts/cache-warm.ts', ['user', '--chunk', '1'], env());
    // A key in the cache means the warm-up is under way (and its handler installed).
    await pollUntil('the first cached user', async () => (await cachedUserKeys()).length > 0);
    run.child.kill('SIGINT');
    const { code, stdout, stderr } = await run.finished;
    expect(code).toBe(130);
    expect(stderr).toContain('stopping after the current chunk');
    const done = Number(/^user: (\d+) rows, \1 set, 0 already current, 0 failed in .*; interrupted before the end$/.exec(stdout.trimEnd())?.[1]);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(USERS);
    expect(await cachedUserKeys()).toHaveLength(done);
  });

  it('takes a second SIGINT right after the first as the same Ctrl-C, and still prints what it did', async () => {
    const run = startTool('scripts/cache-warm.ts', ['user', '--chunk', '1'], env());
    await pollUntil('the first cached user', async () => (await cachedUserKeys()).length > 0);
    const heard = new Promise<void>((resolveHeard) =>
      run.child.stderr!.on('data', (chunk) => String(chunk).includes('stopping after') && resolveHeard()),
    );
    run.child.kill('SIGINT');
    await heard;
    run.child.kill('SIGINT'); // what a parent that passes the terminal's signal on adds, a moment later
    const { code, stdout } = await run.finished;
    expect(code).toBe(130);
    expect(stdout.trimEnd()).toMatch(/^user: (\d+) rows, \1 set, 0 already current, 0 failed in .*; interrupted before the end$/);
  });

  it('prints what it did on Ctrl-C through npm run, where npm passes the SIGINT on as well', { timeout: 60_000 }, async () => {
    // A terminal's Ctrl-C signals its whole foreground process group (npm, the shell
    // npm runs the script in, and the tool), and npm passes the SIGINT it got on to
    // its child too: the tool hears one Ctrl-C twice.
    const run = spawn('npm', ['run', '--silent', 'cache:warm', '--', 'user', '--chunk', '1'], {
      cwd: resolve(__dirname, '../..'),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env() },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, as at a terminal
    });
    let stdout = '';
    let stderr = '';
    run.stdout!.on('data', (chunk) => (stdout += String(chunk)));
    run.stderr!.on('data', (chunk) => (stderr += String(chunk)));
    const finished = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
      run.once('close', (code, signal) => resolveExit({ code, signal })),
    );
    try {
      await pollUntil('the first cached user', async () => (await cachedUserKeys()).length > 0, 30_000);
      process.kill(-run.pid!, 'SIGINT');
      // npm itself ends by the signal (a shell shows 130); the tool's own code is the one below.
      expect(await finished).toEqual({ code: null, signal: 'SIGINT' });
      expect(stderr).toContain('stopping after the current chunk');
      expect(stdout.trimEnd()).toMatch(/^user: (\d+) rows, \1 set, 0 already current, 0 failed in .*; interrupted before the end$/);
    } finally {
      if (run.exitCode === null && run.signalCode === null) process.kill(-run.pid!, 'SIGKILL');
    }
  });

  it('says what is wrong with its arguments in one line', async () => {
    const { code, stdout, stderr } = await runTool('scripts/cache-warm.ts', ['users', '--chunk', '0'], env());
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'cache:warm failed: unknown entity users: choose from user, product, order, review (usage: npm run cache:warm -- [user|product|order|review…] [--chunk N])\n',
    );
  });

  it('warms a fourth entity added through the registry alone (review), with no change to the tools', async () => {
    const [product] = (await t.pool.query("INSERT INTO products (sku, name, price_cents, stock) VALUES ('WARM-REVIEWED', 'Kettle', 2500, 5)")) as unknown as [
      { insertId: number },
    ];
    const values = Array.from({ length: 30 }, (_, i) => [ids[i], product.insertId, (i % 5) + 1, `review ${i}`]);
    await t.pool.query('INSERT INTO reviews (user_id, product_id, rating, body) VALUES ?', [values]);
    const [rows] = await t.pool.query('SELECT id FROM reviews ORDER BY id');
    const reviewIds = (rows as Array<{ id: number }>).map((r) => r.id);

    const run = await runTool('scripts/cache-warm.ts', ['review', '--chunk', '7'], env());
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout.trimEnd()).toMatch(/^review: 30 rows, 30 set, 0 already current, 0 failed in \d+\.\d s \([\d,]+\/s\)$/);

    // Every review answered from the cache, as the service's own repository reads it.
    await t.serverStatements();
    const cached = await t.core.reviews.load(reviewIds);
    expect(await t.serverStatements()).toBe(0);
    expect(cached).toEqual(await t.core.reviews.selectByIds(reviewIds));
  });
});
