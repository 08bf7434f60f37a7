import type { Redis } from 'ioredis';

/**
 * The ids of every key that starts with `stem` (`<prefix><entity>:`), in batches of
 * about `batch`, each id once.
 *
 * SCAN walks the keyspace without blocking Redis, a slice per call, and may return a
 * key more than once (while the keyspace is rehashed), so the ids already yielded are
 * remembered: a few dozen bytes per key. Keys whose remainder is not an id are not
 * ones the service reads, and are passed over.
 */
export async function* scanIds(redis: Redis, stem: string, batch: number): AsyncGenerator<number[]> {
  const pattern = `${escapeGlob(stem)}*`;
  const seen = new Set<number>();
  let pending: number[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', batch);
    cursor = next;
    for (const key of keys) {
      const id = parseId(key.slice(stem.length));
      if (id === undefined || seen.has(id)) continue;
      seen.add(id);
      pending.push(id);
    }
    if (pending.length >= batch || (cursor === '0' && pending.length > 0)) {
      yield pending;
      pending = [];
    }
  } while (cursor !== '0');
}

function parseId(text: string): number | undefined {
  if (!/^[1-9][0-9]*$/.test(text)) return undefined;
  const id = Number(text);
  return Number.isSafeInteger(id) ? id : undefined;
}

/** MATCH takes a glob: a prefix with `*`, `?`, `[` or `\` in it must match only itself. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
