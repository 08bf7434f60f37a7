import type { Cluster, Redis, Result } from 'ioredis';

/**
 * The one way anything is written to the cache: a compare-and-set that runs
 * atomically inside Redis, so no other command can slip between reading the stored
 * version and replacing the value.
 *
 * Why every write needs it: MySQL orders writes by `version`, but their cache writes
 * travel separately and may arrive in any order — two updates whose SETs cross on the
 * wire, or a read's backfill of version 5 that arrives after an update stored 6. The
 * script lets a value land only over an absent key or an older version, so the cache
 * converges on the newest committed version whatever the arrival order.
 *
 * KEYS[1]  the key
 * ARGV[1]  the version being written (0 for a negative "missing" entry, V - 0.5 for
 *          an invalidation mark: see envelope.ts)
 * ARGV[2]  the envelope, whose first member is {"v":<version>
 * ARGV[3]  TTL in milliseconds
 * ARGV[4]  not-after, Unix ms: refuse the write past this instant (0: no limit)
 *
 * Returns 1 when written, 0 when an equal or newer version is already there, and -1
 * when the write arrived too late.
 *
 * Why a deadline: versions order writes only while the newer value is still in
 * Redis. Tombstones and negative entries are short-lived; a write held up for longer
 * than they live — a paused Redis, a command stuck in a socket buffer — would find
 * the key empty and plant a row that was since deleted. The caller sets the deadline
 * to when it read MySQL plus half the tombstone TTL, and Redis judges it by its own
 * clock, when the command actually runs.
 *
 * Equal versions do not land: the value is the same row, and a delete's tombstone
 * carries version + 1 so that it replaces the row it deletes.
 */
export const CAS_SET_LUA = `
local deadline = tonumber(ARGV[4])
if deadline > 0 then
  local now = redis.call('TIME')
  if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > deadline then
    return -1
  end
end
local current = redis.call('GET', KEYS[1])
if current then
  local stored = tonumber(string.match(current, '^{"v":([%d.]+)'))
  if stored and stored >= tonumber(ARGV[1]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`;

export type CasOutcome = 'set' | 'stale' | 'late';

export function casOutcome(reply: unknown): CasOutcome {
  if (reply === 1) return 'set';
  if (reply === 0) return 'stale';
  if (reply === -1) return 'late';
  throw new Error(`unexpected compare-and-set reply ${JSON.stringify(reply)}`);
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    casSet(key: string, version: number, value: string, ttlMs: number, notAfterMs: number): Result<number, Context>;
  }
}

/**
 * Registers the script on a connection. ioredis sends it with EVAL once per socket
 * (which also loads it), then calls it by SHA; after a Redis restart empties the
 * script cache it reloads it on the NOSCRIPT reply. On a cluster, once per node's
 * socket: the script touches one key, so any node can run it.
 */
export function defineCasSet(redis: Redis | Cluster): void {
  redis.defineCommand('casSet', { numberOfKeys: 1, lua: CAS_SET_LUA });
}
