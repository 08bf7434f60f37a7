import DataLoader from 'dataloader';
import type { Repository, Row, VersionedTable } from './repository';

/**
 * One loader per entity per request: every `load(id)` made while a request resolves
 * one level of its query is collected into a single `Repository.load` batch, and a
 * row loaded twice in the same request is fetched once.
 */
export function createLoader<T extends VersionedTable>(repository: Repository<T>): DataLoader<number, Row<T> | null> {
  return new DataLoader((ids) => repository.load(ids), {
    // Bounds the size of one MGET and one IN (…) list.
    maxBatchSize: 500,
  });
}
