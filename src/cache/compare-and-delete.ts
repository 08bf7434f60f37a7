import type { Cluster, Redis, Result } from 'ioredis';

/**
 * Deletes a key only if it still holds exactly the value given: Redis's documented
 * idiom for releasing a lock, used here to take away a value the audit judged wrong
 * without taking away one that a write replaced it with since.
 *
 * The compare-and-set cannot replace a wrong value whose version is equal to or
 * higher than MySQL's (it refuses equal and older versions by design), so the audit
 * clears such a key first and then writes the current row through the
 * compare-and-set. Deleting unconditionally would leave a window: a newer row,
 * written between the audit's read and its DEL, would be deleted and replaced by the
 * audit's older row for a whole TTL. Comparing first closes it: a key that changed
 * is left alone, and while a key is absent a reader merely misses and reads MySQL.
 *
 * KEYS[1] the key; ARGV[1] the value it must still hold. Returns 1 if deleted, else 0.
 */
export const DELETE_IF_UNCHANGED_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    deleteIfUnchanged(key: string, expected: string): Result<number, Context>;
  }
}

export function defineDeleteIfUnchanged(redis: Redis | Cluster): void {
  redis.defineCommand('deleteIfUnchanged', { numberOfKeys: 1, lua: DELETE_IF_UNCHANGED_LUA });
}
