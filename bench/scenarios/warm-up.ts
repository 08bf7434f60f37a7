import { measureWarm } from '../warm';
import type { ScenarioResult } from '../lib/report';
import type { Bench } from '../lib/setup';
import { fmt } from '../lib/stats';

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const CHUNK = Number(process.env.BENCH_CHUNK ?? 1000);

/**
 * Scenario 5: cache:warm's own function (warmEntity) over 100,000 users on a
 * throwaway database, into the bench's private redis-server, whose used_memory then
 * tells what a cached user costs (no other client writes there meanwhile).
 */
export async function warmUp(bench: Bench): Promise<ScenarioResult> {
  const m = await measureWarm({ users: USERS, chunk: CHUNK, redisUrl: bench.redis.url });
  const { summary } = m;
  return {
    id: '5',
    title: 'Warm-up and memory',
    method: `warmEntity (what \`npm run cache:warm\` runs) for ${USERS.toLocaleString('en-US')} users in chunks of ${CHUNK}: one keyset SELECT and one pipeline of compare-and-sets per chunk, the next SELECT overlapping the current pipeline. Memory is the private redis-server's used_memory before and after.`,
    tables: [
      {
        columns: ['users', 'seconds', 'entities/s', 'set', 'already current', 'failed', 'Redis bytes per user', 'value bytes', 'key bytes'],
        rows: [[fmt(summary.rows), fmt(summary.ms / 1000), fmt(summary.perSecond), fmt(summary.set), fmt(summary.alreadyNewer), fmt(summary.failed), fmt(m.bytesPerUser), m.valueBytes, m.keyBytes]],
      },
    ],
    targets: [{ target: 'cache:warm ≥ 20,000 entities/s', actual: `${fmt(summary.perSecond)} users/s`, met: summary.perSecond >= 20_000 && summary.failed === 0 }],
    notes: [`Redis used_memory grew by ${(m.memoryBytes / 1024 / 1024).toFixed(1)} MiB for ${fmt(summary.set)} keys.`],
    data: m,
  };
}
