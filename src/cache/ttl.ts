/**
 * Adds up to `jitter` × ttl of random extra time, so keys written together (a warm-up,
 * a burst of backfills) do not all expire in the same second and stampede MySQL.
 */
export function jitteredTtlMs(ttlSeconds: number, jitter: number, random: () => number = Math.random): number {
  const base = ttlSeconds * 1000;
  return Math.round(base + base * jitter * random());
}
