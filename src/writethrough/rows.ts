import { InvalidInputError } from '../errors';
import type { VersionedTable } from './entity';

/** Fields a caller may never set: the key, the version, and what MySQL stamps. */
type Managed = 'id' | 'version' | 'createdAt' | 'updatedAt';
export type Row<T extends VersionedTable> = T['$inferSelect'] & { id: number; version: number };
export type NewRow<T extends VersionedTable> = Omit<T['$inferInsert'], Managed>;
export type Patch<T extends VersionedTable> = Partial<NewRow<T>>;

/** Ids are positive integers that a JS number holds exactly. */
export function assertId(id: number): void {
  if (!Number.isSafeInteger(id) || id < 1) throw new InvalidInputError(`id must be a positive integer, got ${id}`, 'id');
}
