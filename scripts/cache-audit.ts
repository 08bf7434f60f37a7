/**
 * `npm run cache:audit -- [<entity>…] [--chunk N] [--fix] [--fill]`: compares
 * every cached key of each entity (every one in src/entities.ts by default, and
 * then every association list's keys) with MySQL and reports the keys that would answer a reader wrongly (stale, orphaned)
 * and the rows the cache lacks (missing). `--fix` repairs the wrong keys through the
 * compare-and-set; `--fill` caches the missing rows.
 *
 * A progress bar per entity on stderr; one summary line per entity on stdout. Ctrl-C
 * stops after the current batch and prints what was seen. Exit codes: 0 no drift (or
 * all of it repaired), 1 drift left as it is, 2 the audit failed (one line on
 * stderr), 130 interrupted.
 */
import { auditEntity, auditList, type AuditOptions, type AuditReport } from '../src/tools/audit';
import { ENTITY_NAMES } from '../src/tools/entities';
import { INTERRUPTED_EXIT_CODE, stopOnSigint } from '../src/tools/interrupt';
import { progressBar } from '../src/tools/progress-bar';
import { auditSummaryLine, driftRemains } from '../src/tools/summary-lines';
import { parseToolArgs } from '../src/tools/tool-args';
import { openToolGraph } from '../src/tools/tool-graph';
import { loadToolConfig, runTool } from '../src/tools/tool-main';

const USAGE = `npm run cache:audit -- [${ENTITY_NAMES.join('|')}…] [--chunk N] [--fix] [--fill]`;
const DRIFT_EXIT_CODE = 1;
const FAILURE_EXIT_CODE = 2;

async function run(): Promise<number> {
  const args = parseToolArgs(process.argv.slice(2), USAGE, ['fix', 'fill']);
  if (args.help) {
    console.log(`usage: ${USAGE}`);
    return 0;
  }
  const config = loadToolConfig();
  const interrupt = stopOnSigint('stopping after the current batch (Ctrl-C again to quit now)');
  const graph = await openToolGraph(config);
  let code = 0;
  try {
    const deps = { db: graph.db, cache: graph.core.cache, redis: graph.redis };
    // Named entities alone, or every entity and then every list.
    const audits: Array<[string, (options: AuditOptions) => Promise<AuditReport>]> = [
      ...args.entities.map((name) => [name, (o: AuditOptions) => auditEntity(deps, graph.entities[name], o)] as [string, (o: AuditOptions) => Promise<AuditReport>]),
      ...(args.named ? [] : Object.values(graph.core.lists).map((list) => [list.entity, (o: AuditOptions) => auditList(deps, list, o)] as [string, (o: AuditOptions) => Promise<AuditReport>])),
    ];
    for (const [name, audit] of audits) {
      if (interrupt.signal.aborted) break;
      const bar = progressBar(name);
      const report = await audit({
        ...(args.chunk ? { batch: args.chunk } : {}),
        fix: args.fix,
        fill: args.fill,
        signal: interrupt.signal,
        onProgress: ({ phase, done, total }) => bar.update(done, total, phase === 'keys' ? 'cached keys' : 'MySQL rows'),
      }).finally(() => bar.stop());
      console.log(auditSummaryLine(report));
      if (driftRemains(report)) code = DRIFT_EXIT_CODE;
    }
  } finally {
    interrupt.dispose();
    await graph.close();
  }
  return interrupt.signal.aborted ? INTERRUPTED_EXIT_CODE : code;
}

runTool('cache:audit', run, FAILURE_EXIT_CODE);
