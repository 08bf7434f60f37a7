import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEnvelope } from '../../src/cache/envelope';
import type { BinlogMariadb } from '../helpers/binlog-mariadb';
import { startFollowingCore, type FollowingCore } from '../helpers/following-core';
import { createTestCore, type TestCore } from '../helpers/core';
import { createTestDatabase } from '../helpers/database';
import { pollUntil } from '../helpers/poll';
import { startPrivateRedis } from '../helpers/redis-server';

/** A bulk UPDATE by SQL: the follower keeps up, and its memory stays bounded. */
const ROWS = Number(process.env.BULK_ROWS ?? 100_000);
let following: FollowingCore;
let server: BinlogMariadb;
let t: TestCore;
let sql: mysql.Connection;

beforeAll(async () => {
  following = await startFollowingCore({ changes: process.env.BULK_MAX_QUEUED ? { maxQueued: Number(process.env.BULK_MAX_QUEUED) } : {} });
  ({ server, t, sql } = following);
}, 60_000);
afterAll(async () => {
  await following?.close();
});

/** Runs `work` while sampling the heap; the largest growth over the start, in MB. */
async function heapGrowthDuring(work: () => Promise<void>): Promise<number> {
  const start = process.memoryUsage().heapUsed;
  let peak = start;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 20);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  return (peak - start) / 2 ** 20;
}

const appliedOutOfBand = () => t.core.follower!.status().applied.outOfBand;

describe(`a bulk change of ${ROWS} rows by SQL`, () => {
  it('is applied in full, at a rate printed, with the heap bounded', { timeout: 180_000 }, async () => {
    const base = appliedOutOfBand();
    await sql.query(
      `INSERT INTO users (name, email) SELECT CONCAT('Bulk ', seq), CONCAT('bulk-', seq, '@example.com') FROM seq_1_to_${ROWS}`,
    );
    await pollUntil('the inserts applied', () => appliedOutOfBand() >= base + ROWS, 120_000);

    const started = performance.now();
    let sqlSeconds = 0;
    // A reader beside the follower, as the API's requests share its event loop.
    const [[{ probe }]] = (await sql.query('SELECT MIN(id) AS probe FROM users')) as unknown as [[{ probe: number }]];
    const readMs: number[] = [];
    const growthMb = await heapGrowthDuring(async () => {
      await sql.query("UPDATE users SET bio = 'bulk'");
      sqlSeconds = (performance.now() - started) / 1000;
      const applied = pollUntil('the update applied', () => appliedOutOfBand() >= base + 2 * ROWS, 120_000);
      let applying = true;
      void applied.finally(() => (applying = false));
      while (applying) {
        const t0 = performance.now();
        await t.core.users.load([probe]);
        readMs.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 10));
      }
      await applied;
    });
    readMs.sort((a, b) => a - b);
    console.log(`reads beside the bulk apply: ${readMs.length}, p50 ${readMs[Math.floor(readMs.length / 2)]?.toFixed(1)} ms, p99 ${readMs[Math.floor(readMs.length * 0.99)]?.toFixed(1)} ms, max ${readMs.at(-1)?.toFixed(1)} ms`);
    const seconds = (performance.now() - started) / 1000;
    console.log(`bulk update: ${ROWS} rows applied in ${seconds.toFixed(2)} s (${Math.round(ROWS / seconds)} rows/s; the UPDATE itself took ${sqlSeconds.toFixed(2)} s, the follower ${Math.round(ROWS / (seconds - sqlSeconds))} rows/s after its commit); heap grew at most ${growthMb.toFixed(0)} MB`);
    // Bounded: the queue holds at most maxQueued changes, not the whole statement.
    expect(growthMb).toBeLessThan(200);

    const [[{ lo, hi }]] = (await sql.query('SELECT MIN(id) AS lo, MAX(id) AS hi FROM users')) as unknown as [[{ lo: number; hi: number }]];
    const ids = [lo, Math.floor((lo + hi) / 2), hi];
    const values = await t.redis.mget(ids.map((id) => `${t.settings.keyPrefix}user:${id}`));
    for (const raw of values) expect(decodeEnvelope(raw!)).toMatchObject({ kind: 'row', version: 2, row: expect.objectContaining({ bio: 'bulk' }) });
    await pollUntil('caught up', () => t.core.follower!.status().lagSeconds === 0, 30_000);
  });

  it('pauses reading the binlog while the cache cannot take changes, so its backlog stays bounded, and catches up after', { timeout: 180_000 }, async () => {
    const redis = await startPrivateRedis();
    const database = await createTestDatabase(server.serverUrl);
    const maxQueued = 5_000;
    const slow = await createTestCore({ database, redisUrl: redis.url, changes: { maxQueued } });
    const db = await mysql.createConnection(database.url);
    try {
      await pollUntil('following', () => slow.core.follower!.status().state === 'following');
      const rows = Math.min(ROWS, 20_000); // four times maxQueued: enough to fill it, light beside the other files
      await db.query(`INSERT INTO users (name, email) SELECT CONCAT('Held ', seq), CONCAT('held-', seq, '@example.com') FROM seq_1_to_${rows}`);
      redis.pause(); // every batch now times out, and is sent again
      let peak = 0;
      const sampler = setInterval(() => (peak = Math.max(peak, slow.core.follower!.status().backlog)), 5);
      await pollUntil('the backlog to fill', () => slow.core.follower!.status().backlog >= maxQueued, 30_000);
      await new Promise((r) => setTimeout(r, 1_000)); // held: were reading not paused, the backlog would keep growing
      redis.resume();
      await pollUntil('all applied', () => slow.core.follower!.status().applied.outOfBand >= rows, 120_000);
      clearInterval(sampler);
      // One binlog event (a few dozen rows) may arrive after the pause is asked for.
      expect(peak).toBeGreaterThanOrEqual(maxQueued);
      expect(peak).toBeLessThan(maxQueued + 1_000);
      expect(peak).toBeLessThan(rows);
    } finally {
      await db.end();
      await slow.close();
      await database.drop();
      await redis.dispose();
    }
  });
});
