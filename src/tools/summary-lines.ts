import type { AuditReport } from './audit';
import type { WarmSummary } from './warm';

/** How many ids a summary line lists before it says "…". */
const LISTED_IDS = 10;
/** The counts of an interrupted run cover only what it got through. */
const INTERRUPTED = '; interrupted before the end';

/** `user: 100000 rows, 100000 set, 0 already current, 0 failed in 3.9 s (25,600/s)` */
export function warmSummaryLine(s: WarmSummary): string {
  const rate = Math.round(s.perSecond).toLocaleString('en-US');
  let line = `${s.entity}: ${s.rows} rows, ${s.set} set, ${s.alreadyNewer} already current, ${s.failed} failed in ${seconds(s.ms)} (${rate}/s)`;
  if (s.firstError) line += `; first failure: ${s.firstError}`;
  if (s.interrupted) line += INTERRUPTED;
  return line;
}

/** `user: 12034 keys, 12034 ok, 0 stale, 0 orphaned, 0 missing — no drift` */
export function auditSummaryLine(r: AuditReport): string {
  const counts = [`${r.keys} keys`, `${r.ok} ok`, `${r.stale.length} stale`, `${r.orphaned.length} orphaned`];
  if (r.unreadable > 0) counts.push(`${r.unreadable} unreadable`);
  counts.push(`${r.missing} missing${r.missing > 0 ? ` (${listIds(r.missingIds, r.missing)})` : ''}`);

  const verdict: string[] = [];
  if (r.drift === 0) verdict.push('no drift');
  else {
    const which = [
      r.stale.length > 0 ? `stale: ${listIds(r.stale)}` : '',
      r.orphaned.length > 0 ? `orphaned: ${listIds(r.orphaned)}` : '',
    ].filter(Boolean);
    verdict.push(`drift in ${plural(r.drift, 'key')} (${which.join('; ')})`);
  }
  const f = r.fixed;
  if (f) {
    if (f.stale + f.orphaned > 0) verdict.push(`${f.stale + f.orphaned} repaired`);
    if (f.filled > 0) verdict.push(`${f.filled} missing filled`);
    if (f.failed > 0) verdict.push(`${f.failed} repairs failed (${f.firstError})`);
  }
  let line = `${r.entity}: ${counts.join(', ')} — ${verdict.join(', ')}`;
  if (r.interrupted) line += INTERRUPTED;
  return line;
}

/** Drift left as it was: found and not repaired, or a repair that failed. */
export function driftRemains(r: AuditReport): boolean {
  if (!r.fixed) return r.drift > 0;
  return r.fixed.failed > 0 || r.fixed.stale + r.fixed.orphaned < r.drift;
}

function listIds(ids: readonly number[], total = ids.length): string {
  const shown = ids.slice(0, LISTED_IDS).join(', ');
  return total > LISTED_IDS ? `${shown}, …` : shown;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
