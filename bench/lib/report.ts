import { writeFileSync } from 'node:fs';

export interface Table {
  title?: string;
  /** Markdown alignment: the first column left and the rest right (figures), unless `textOnly`. */
  textOnly?: boolean;
  columns: string[];
  rows: Array<Array<string | number>>;
}

export interface Target {
  target: string;
  actual: string;
  met: boolean;
}

/** What each scenario hands back: tables to print and report, targets, and its raw figures for results.json. */
export interface ScenarioResult {
  id: string;
  title: string;
  /** How it was measured, in a sentence or two. */
  method: string;
  tables: Table[];
  targets: Target[];
  notes: string[];
  data: unknown;
  /** A chart of its own (an image next to results.md), shown under its method. */
  chart?: string;
}

/** A table for the terminal, columns padded. */
export function printTable(table: Table): void {
  const cells = [table.columns, ...table.rows.map((r) => r.map(String))];
  const widths = table.columns.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  if (table.title) console.log(`  ${table.title}`);
  for (const [n, row] of cells.entries()) {
    console.log('  ' + row.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join('  '));
    if (n === 0) console.log('  ' + widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

export function printScenario(result: ScenarioResult): void {
  for (const t of result.tables) printTable(t);
  for (const t of result.targets) console.log(`  ${t.met ? '✓' : '✗'} ${t.target}: ${t.actual}`);
  for (const n of result.notes) console.log(`  note: ${n}`);
  console.log();
}

function markdownTable(table: Table): string {
  const lines = [`| ${table.columns.join(' | ')} |`, `| ${table.columns.map((_, i) => (i === 0 || table.textOnly ? '---' : '---:')).join(' | ')} |`];
  for (const row of table.rows) lines.push(`| ${row.join(' | ')} |`);
  return (table.title ? `**${table.title}**\n\n` : '') + lines.join('\n');
}

export interface RunInfo {
  date: string;
  machine: string;
  seconds: number;
  settings: Record<string, unknown>;
}

/**
 * bench/results.md (tables and targets, then `extra`: the hand-written profiling
 * notes, kept in bench/findings.md so that each run carries them) and
 * bench/results.json (every figure).
 */
export function writeReport(paths: { md: string; json: string; svg: string }, info: RunInfo, results: ScenarioResult[], extra: string): void {
  const out: string[] = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` (bench/run.ts) on ${info.date}: ${info.machine}. The whole run took ${info.seconds.toFixed(0)} s.`,
    `Settings: ${Object.entries(info.settings).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    '',
    '## Targets',
    '',
    markdownTable({
      textOnly: true,
      columns: ['', 'scenario', 'target', 'measured'],
      rows: results.flatMap((r) => r.targets.map((t) => [t.met ? '✓' : '✗', r.title, t.target, t.actual])),
    }),
    '',
    `![req/s per variant](${paths.svg.split('/').pop()})`,
    '',
  ];
  for (const r of results) {
    out.push(`## ${r.id}. ${r.title}`, '', r.method, '');
    if (r.chart) out.push(`![${r.title}: req/s per variant](${r.chart})`, '');
    for (const t of r.tables) out.push(markdownTable(t), '');
    for (const n of r.notes) out.push(`- ${n}`);
    if (r.notes.length) out.push('');
  }
  if (extra.trim()) out.push(extra.trim(), '');
  writeFileSync(paths.md, out.join('\n'));
  writeFileSync(paths.json, JSON.stringify({ ...info, scenarios: results.map(({ id, title, targets, data }) => ({ id, title, targets, data })) }, null, 2) + '\n');
}
