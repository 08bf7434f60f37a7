import type { Core } from '../../src/core';
import type { Database } from '../../src/db/client';
import { cachedEntities } from '../../src/tools/entities';
import { pollUntil } from './poll';

/**
 * Hands every row of every entity to the core's consistency inspector at MySQL's
 * current version, as if each had just been written, and waits until it has judged
 * them all. Returns what this round found: after a fault's repairs, every key should
 * be consistent (the "after repair it reports 0"). The inspector must sample
 * every write (sampleRate 1) and have the budget for them.
 */
export async function reinspectEverything(core: Core, db: Database, timeoutMs = 30_000) {
  const inspector = core.inspector;
  if (!inspector) throw new Error('the core has no consistency inspector');
  // Whatever was already queued is judged first, so the figures below are this round's alone.
  await pollUntil('the inspector to finish what it had', () => inspector.figures.snapshot().pending === 0, timeoutMs);
  const before = inspector.figures.snapshot().total;
  let handed = 0;
  for (const entity of Object.values(cachedEntities(core))) {
    const rows = (await db.select({ id: entity.table.id, version: entity.table.version }).from(entity.table)) as Array<{ id: number; version: number }>;
    inspector.observe(rows.map((r) => ({ entity: entity.name, entityId: r.id, cas: { version: r.version } })));
    handed += rows.length;
  }
  const after = await pollUntil('the inspector to judge every row again', () => {
    const s = inspector.figures.snapshot();
    return s.pending === 0 && s.total.checked >= before.checked + handed ? s.total : undefined;
  }, timeoutMs);
  return {
    handed,
    checked: after.checked - before.checked,
    consistent: after.consistent - before.consistent,
    inFlight: after.in_flight - before.in_flight,
    recorded: after.recorded - before.recorded,
    inconsistent: after.inconsistent - before.inconsistent,
  };
}
