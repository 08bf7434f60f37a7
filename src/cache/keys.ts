/**
 * Cache keys are `<prefix><entity>:<id>`, e.g. `tl:user:42`. One key per row, and no
 * hash tag: rows of one type spread across every node of a Redis Cluster.
 */
export function cacheKey(prefix: string, entity: string, id: number): string {
  return `${prefix}${entity}:${id}`;
}
