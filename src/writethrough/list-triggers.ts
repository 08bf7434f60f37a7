import { getTableName } from 'drizzle-orm';
import type { VersionTrigger } from '../db/version-triggers';
import { SINGLE_OWNER, type ListDefinition } from './association-list';
import { listVersions } from './tables';

/**
 * The triggers that keep association lists' versions (writethrough/association-list.ts):
 * on each edge table, BEFORE INSERT and BEFORE DELETE bump every list the edge is in,
 * and BEFORE UPDATE bumps the old and the new owner's list when an edge changes owner.
 * In the edge's own transaction, so whoever writes an edge (the API, a script, an
 * operator) moves its list's version with it.
 *
 * BEFORE, not AFTER: the bump takes the list's version row (an exclusive lock) before
 * the edge row exists. Had the edge come first, a writer holding the version row and
 * reading the list's newest edges with a locking read (list-statements.ts) would wait
 * for that uncommitted edge, whose writer waits for the version row: a deadlock.
 * A table's lists are bumped in name order, so two writers take the rows in one order.
 */
export function listTriggersOf(lists: readonly ListDefinition[]): VersionTrigger[] {
  const byTable = new Map<string, ListDefinition[]>();
  for (const list of lists) {
    const table = getTableName(list.edges);
    byTable.set(table, [...(byTable.get(table) ?? []), list]);
  }
  const triggers: VersionTrigger[] = [];
  for (const [table, onTable] of [...byTable].sort(([a], [b]) => a.localeCompare(b))) {
    const sorted = [...onTable].sort((a, b) => a.name.localeCompare(b.name));
    const name = (event: string) => `${table}_lists_${event}`;
    triggers.push({ name: name('insert'), table, event: 'INSERT', body: block(sorted.map((l) => bump(l, 'NEW'))) });
    triggers.push({ name: name('delete'), table, event: 'DELETE', body: block(sorted.map((l) => bump(l, 'OLD'))) });
    const moved = sorted.filter((l) => l.owner);
    if (moved.length > 0) {
      const statements = moved.map((l) => {
        const column = l.owner!.name;
        return `IF NOT (OLD.\`${column}\` <=> NEW.\`${column}\`) THEN ${bump(l, 'OLD')} ${bump(l, 'NEW')} END IF;`;
      });
      triggers.push({ name: name('update'), table, event: 'UPDATE', body: block(statements) });
    }
  }
  return triggers;
}

function block(statements: string[]): string {
  return `BEGIN ${statements.join(' ')} END`;
}

/** One list's version + 1 (a list with no row yet starts at 1). Names are checked identifiers (entity.ts). */
function bump(list: ListDefinition, row: 'NEW' | 'OLD'): string {
  const owner = list.owner ? `${row}.\`${list.owner.name}\`` : String(SINGLE_OWNER);
  return `INSERT INTO \`${getTableName(listVersions)}\` (list, owner_id, version) VALUES ('${list.name}', ${owner}, 1) ON DUPLICATE KEY UPDATE version = version + 1;`;
}
