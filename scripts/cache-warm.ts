/**
 * `npm run cache:warm -- [<entity>…] [--chunk N]`: loads every row of each entity
 * (every one in src/entities.ts by default) into Redis, through the compare-and-set,
 * so it never replaces a newer value and may run beside live traffic, and again.
 *
 * A progress bar per entity on stderr; one summary line per entity on stdout. Ctrl-C
 * stops after the current chunk and prints what was done. Exit codes: 0 done, 1 some
 * writes failed or the run failed (one line on stderr), 130 interrupted.
 */
import { ENTITY_NAMES } from '../src/tools/entities';
import { INTERRUPTED_EXIT_CODE, stopOnSigint } from '../src/tools/interrupt';
import { progressBar } from '../src/tools/progress-bar';
import { warmSummaryLine } from '../src/tools/summary-lines';
import { parseToolArgs } from '../src/tools/tool-args';
import { openToolGraph } from '../src/tools/tool-graph';
import { loadToolConfig, runTool } from '../src/tools/tool-main';
import { warmEntity } from '../src/tools/warm';

const USAGE = `npm run cache:warm -- [${ENTITY_NAMES.join('|')}…] [--chunk N]`;

async function run(): Promise<number> {
  const args = parseToolArgs(process.argv.slice(2), USAGE);
  if (args.help) {
    console.log(`usage: ${USAGE}`);
    return 0;
  }
  const config = loadToolConfig();
  const interrupt = stopOnSigint();
  const graph = await openToolGraph(config);
  let code = 0;
  try {
    for (const name of args.entities) {
      if (interrupt.signal.aborted) break;
      const bar = progressBar(name);
      const summary = await warmEntity({ db: graph.db, cache: graph.core.cache }, graph.entities[name], {
        ...(args.chunk ? { chunk: args.chunk } : {}),
        signal: interrupt.signal,
        onProgress: (done, total) => bar.update(done, total),
      }).finally(() => bar.stop());
      console.log(warmSummaryLine(summary));
      if (summary.failed > 0) code = 1;
    }
  } finally {
    interrupt.dispose();
    await graph.close();
  }
  return interrupt.signal.aborted ? INTERRUPTED_EXIT_CODE : code;
}

runTool('cache:warm', run);
