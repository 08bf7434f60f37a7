import { parseArgs } from 'node:util';
import { ENTITY_NAMES, isEntityName, type EntityName } from './entities';
import { ToolError } from './tool-error';

export interface ToolArgs {
  entities: EntityName[];
  /** Entities were named (else every one). */
  named: boolean;
  chunk: number | undefined;
  fix: boolean;
  fill: boolean;
  help: boolean;
}

/**
 * `[entity…] [--chunk N]`, plus the boolean flags a tool accepts. Every mistake is a
 * ToolError naming it and ending with the usage.
 */
export function parseToolArgs(argv: readonly string[], usage: string, flags: ReadonlyArray<'fix' | 'fill'> = []): ToolArgs {
  const fail = (problem: string): never => {
    throw new ToolError(`${problem} (usage: ${usage})`);
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        chunk: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(flags.map((flag) => [flag, { type: 'boolean' as const }])),
      },
    });
  } catch (err) {
    // Node's own messages run long; its first sentence says what was wrong.
    return fail(String((err as Error).message).split('. ')[0]!);
  }
  const { values, positionals } = parsed;
  const unknown = positionals.filter((name) => !isEntityName(name));
  if (unknown.length > 0) fail(`unknown entity ${unknown.join(', ')}: choose from ${ENTITY_NAMES.join(', ')}`);
  let chunk: number | undefined;
  if (values.chunk !== undefined) {
    chunk = Number(values.chunk);
    if (!/^\d+$/.test(String(values.chunk)) || chunk < 1 || chunk > 100_000) {
      fail(`--chunk must be a whole number from 1 to 100000 (got "${values.chunk}")`);
    }
  }
  return {
    entities: positionals.length > 0 ? [...new Set(positionals as EntityName[])] : [...ENTITY_NAMES],
    named: positionals.length > 0,
    chunk,
    fix: (values as { fix?: boolean }).fix === true,
    fill: (values as { fill?: boolean }).fill === true,
    help: values.help === true,
  };
}
