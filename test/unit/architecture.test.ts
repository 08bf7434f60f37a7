import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  importCycles,
  preProcessedSpecifiers,
  readModuleGraph,
  readReferences,
  type Edge,
} from '../helpers/module-graph';

/**
 * The import rules of ARCHITECTURE.md ("Layers": dependencies point down only), checked
 * on every edge of the real module graph of src/: every .ts file, every `import`,
 * `export … from`, `import x = require()`, `import()`, `require()` and type position
 * `import('…')`, multi-line or not, read by the TypeScript parser and each relative
 * specifier resolved to its file (test/helpers/module-graph.ts).
 *
 * Type-only imports count: `import type { X } from '../graphql/context'` is erased from
 * the JavaScript, but the layer still depends on the other one (it cannot compile, be
 * moved or be reused without it), which is what these rules are about.
 */

const SRC = resolve(__dirname, '../../src');

type Layer =
  | 'edge'
  | 'start-up'
  | 'tools'
  | 'http'
  | 'graphql'
  | 'auth'
  | 'settings'
  | 'service'
  | 'tables'
  | 'metrics'
  | 'core'
  | 'logging';

interface LayerRule {
  /** How the specs name it. */
  title: string;
  /** Files of src/ ('main.ts') and directories ('cache/'); the longest entry that holds a file places it. */
  holds: string[];
  /** Besides itself. */
  mayImport: Layer[];
  /** Layers it may take types from (`import type`), and nothing else. */
  mayImportTypesOf?: Layer[];
  /** Where the rule is stated. */
  why: string;
}

const BELOW_THE_API: Layer[] = ['metrics', 'auth', 'settings', 'service', 'tables', 'core', 'logging'];

/** From the top (the process's edge) down. */
const LAYERS: Record<Layer, LayerRule> = {
  edge: {
    title: 'main.ts',
    holds: ['main.ts'],
    mayImport: ['start-up', 'tools', 'http', 'graphql', ...BELOW_THE_API],
    why: 'ARCHITECTURE.md: main.ts is the edge (config, pools, Redis clients, servers, timers, signals)',
  },
  'start-up': {
    title: 'the start-up code',
    holds: ['connections.ts', 'seed.ts', 'startup-checks.ts', 'startup-errors.ts', 'env-file.ts', 'dev/'],
    mayImport: ['settings', 'service', 'tables', 'core', 'logging'],
    why: 'ARCHITECTURE.md: every connection is created at the edge and passed in; what main.ts and the tools run before they work (connections, checks, seed, dev services) sits there, above the core',
  },
  tools: {
    title: 'the tools',
    holds: ['tools/'],
    mayImport: ['start-up', 'settings', 'service', 'tables', 'core', 'logging'],
    why: 'the operator tools (cache:warm, cache:audit) are an edge of their own: they build the core, not the API',
  },
  http: {
    title: 'HTTP',
    holds: ['server.ts', 'http/'],
    mayImport: ['graphql', ...BELOW_THE_API],
    why: 'ARCHITECTURE.md: server.ts + http/ sit under main.ts and over graphql/ + modules/',
  },
  graphql: {
    title: 'the GraphQL layer',
    holds: ['graphql/', 'modules/'],
    mayImport: BELOW_THE_API,
    why: 'ARCHITECTURE.md: graphql/ + modules/ sit under server.ts + http/ and over core.ts',
  },
  metrics: {
    title: 'metrics/',
    holds: ['metrics/'],
    mayImport: ['settings', 'service', 'tables', 'core', 'logging'],
    why: "issue 22: metrics/ (Prometheus, status, /readyz) serves graphql/ and http/ and reads core.ts's Core, so it sits under the GraphQL layer and over core.ts; the core's own metrics interface is writethrough/core-metrics.ts",
  },
  auth: {
    title: 'auth/',
    holds: ['auth/'],
    mayImport: ['settings', 'logging'],
    why: 'token verification, used by graphql/ and http/; it takes its settings type from config.ts',
  },
  settings: {
    title: 'config.ts',
    holds: ['config.ts'],
    mayImport: ['tables'],
    mayImportTypesOf: ['graphql', 'core'],
    why: 'config.ts parses the environment into the settings objects each layer declares (it may take those types from the layers it configures) and checks CACHE_POLICY_<NAME> against the entity registry',
  },
  service: {
    title: 'core.ts and orders/',
    holds: ['core.ts', 'orders/'],
    mayImport: ['settings', 'tables', 'core', 'logging'],
    why: "ARCHITECTURE.md: core.ts builds the write-through core for this service's tables, under graphql/ + modules/",
  },
  tables: {
    title: "the app's tables (db/schema.ts, entities.ts)",
    holds: ['db/schema.ts', 'entities.ts'],
    mayImport: ['core'],
    why: "issue 22: the app's tables and their registry (defined with the core's defineEntity); the core imports nothing from the app, not db/schema.ts's app tables: the app gives it tables through the registry",
  },
  core: {
    title: 'the core',
    holds: ['cache/', 'writethrough/', 'failures/', 'changes/', 'inspector/', 'db/', 'errors.ts'],
    mayImport: ['logging'],
    why: "ARCHITECTURE.md: writethrough/, failures/ and cache/ import nothing from GraphQL, HTTP or config.ts's parsing (they take settings objects); dependencies point down only",
  },
  logging: {
    title: 'logging/',
    holds: ['logging/'],
    mayImport: [],
    why: 'the logger and its request context, which any layer may use: it imports nothing of src/',
  },
};

/** Rules on the packages a layer (or a directory) may use; `from` entries are layers or paths as in `holds`. */
const PACKAGE_RULES: Array<{ spec: string; from: Array<Layer | string>; forbids: RegExp; why: string }> = [
  {
    spec: 'keeps GraphQL packages out of the core and what it stands on',
    from: ['service', 'tables', 'core', 'logging'],
    // graphql, graphql-ws, graphql-jit, type-graphql, dataloader-graphql, @escape.tech/graphql-armor; @apollo/*
    forbids: /graphql|@apollo/,
    why: 'the write-through core is free of GraphQL (ARCHITECTURE.md)',
  },
  {
    spec: 'keeps the resolvers (modules/) away from drizzle, ioredis and mysql2',
    from: ['modules/'],
    forbids: /drizzle|ioredis|mysql2/,
    why: 'resolvers are thin: they reach MySQL and Redis only through the core (ARCHITECTURE.md)',
  },
];

/**
 * Edges and cycles the real graph has today against the rules above. Each names the
 * issue that removes it; the test fails when one no longer occurs, so that this list
 * only ever shrinks.
 */
const KNOWN_EXCEPTIONS: {
  edges: Array<{ from: string; to: string; reason: string }>;
  cycles: Array<{ cycle: string; reason: string }>;
} = {
  edges: [
    { from: 'db/client.ts', to: 'db/schema.ts', reason: "issue 22: the core's Database type is typed by db/schema.ts's tables" },
    { from: 'metrics/prometheus.ts', to: 'graphql/compiled-execution.ts', reason: 'issue 22: metrics/ imports core.ts and graphql/ (the graphql/ half remains: ExecutionObserver)' },
  ],
  cycles: [
    {
      cycle: 'auth/token-verifier.ts → auth/verified-tokens.ts → auth/token-verifier.ts',
      reason: 'no issue yet: verified-tokens.ts takes the TokenVerifier type from the module that uses it',
    },
    {
      cycle: 'writethrough/unit-of-work.ts → writethrough/write-intents.ts → writethrough/unit-of-work.ts',
      reason: 'issue 22 (the Repository split): write-intents.ts takes Transaction from unit-of-work.ts, which uses it',
    },
  ],
};

/** `import()` / `require()` calls whose module is computed, so no edge can be read from them: each must be listed. */
const COMPUTED_SPECIFIERS: Array<{ file: string; text: string; reason: string }> = [
  {
    file: 'graphql/gateway-request-context.ts',
    text: 'require(path)',
    reason: "loads @apollo/server's own utils/makeGatewayGraphQLRequestContext.js, a file of a package, not of src/",
  },
];

const graph = readModuleGraph(SRC);
const LAYER_NAMES = Object.keys(LAYERS) as Layer[];

function layerOf(file: string): Layer | undefined {
  let best: { layer: Layer; length: number } | undefined;
  for (const layer of LAYER_NAMES) {
    for (const entry of LAYERS[layer].holds) {
      const holds = entry.endsWith('/') ? file.startsWith(entry) : file === entry;
      if (holds && (best === undefined || entry.length > best.length)) best = { layer, length: entry.length };
    }
  }
  return best?.layer;
}

function where(edge: Edge): string {
  const [first] = edge.references;
  return `src/${edge.from}:${first!.line} → ${edge.toPackage ? edge.to : `src/${edge.to}`}${edge.typeOnly ? ' (types only)' : ''}`;
}

/** Why an edge between two files of src/ breaks the layers, or undefined when it keeps them. */
function layerViolation(edge: Edge): string | undefined {
  const from = layerOf(edge.from);
  const to = layerOf(edge.to);
  if (from === undefined) return `${where(edge)}: no layer holds src/${edge.from} (add it to LAYERS)`;
  if (to === undefined) return `${where(edge)}: no layer holds ${edge.to.startsWith('..') ? edge.to : `src/${edge.to}`} (add it to LAYERS)`;
  const rule = LAYERS[from];
  if (to === from || rule.mayImport.includes(to)) return undefined;
  if (edge.typeOnly && rule.mayImportTypesOf?.includes(to)) return undefined;
  const may = [...rule.mayImport.map((l) => LAYERS[l].title), ...(rule.mayImportTypesOf ?? []).map((l) => `types of ${LAYERS[l].title}`)];
  return (
    `${where(edge)}: ${rule.title} may import only ${andList(['itself', ...may])}` +
    `, not ${LAYERS[to].title} [${rule.why}]`
  );
}

function andList(names: string[]): string {
  return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

function packageViolation(edge: Edge): string | undefined {
  for (const rule of PACKAGE_RULES) {
    const applies = rule.from.some((entry) =>
      entry in LAYERS ? layerOf(edge.from) === entry : entry.endsWith('/') ? edge.from.startsWith(entry) : edge.from === entry,
    );
    if (applies && rule.forbids.test(edge.to)) return `${where(edge)}: ${rule.spec.replace(/^keeps/, 'keep')} [${rule.why}]`;
  }
  return undefined;
}

const isKnown = (edge: Edge) => KNOWN_EXCEPTIONS.edges.some((e) => e.from === edge.from && e.to === edge.to);
const fileEdges = graph.edges.filter((e) => !e.toPackage);
const cycles = importCycles(graph).map((path) => path.join(' → '));

describe('the module graph', () => {
  describe('is read exactly', () => {
    it('reads every import, export … from, import = require, import() and require(), multi-line or not', () => {
      const text = [
        "import {",
        "  a,",
        "  b,",
        "} from './multi-line';",
        "import type { C } from './type-only';",
        "import { type D, type E } from './all-named-types';",
        "import { type F, g } from './one-value';",
        "import './side-effect';",
        "import * as h from 'a-package/sub/path';",
        "export {",
        "  i,",
        "} from './re-export';",
        "export * from './star';",
        "export type { J } from './type-re-export';",
        "import k = require('./import-equals');",
        "const l = require('./required');",
        "const m = async () => import(",
        "  './dynamic'",
        ");",
        "let n: import('./import-type').N;",
        "const o = `import { p } from './inside-a-string'`;",
        "// import { q } from './in-a-comment';",
        "export const r = { a, b, g, h, k, l, m, n, o };",
      ].join('\n');
      const { references, computed } = readReferences(text);
      expect(references.map((r) => [r.specifier, r.line, r.kind, r.typeOnly])).toEqual([
        ['./multi-line', 1, 'import', false],
        ['./type-only', 5, 'import', true],
        ['./all-named-types', 6, 'import', true],
        ['./one-value', 7, 'import', false],
        ['./side-effect', 8, 'import', false],
        ['a-package/sub/path', 9, 'import', false],
        ['./re-export', 10, 'export from', false],
        ['./star', 13, 'export from', false],
        ['./type-re-export', 14, 'export from', true],
        ['./import-equals', 15, 'import = require', false],
        ['./required', 16, 'require()', false],
        ['./dynamic', 17, 'import()', false],
        ['./import-type', 20, 'import type node', true],
      ]);
      expect(computed).toEqual([]);
    });

    it("finds in every file of src/ the same modules as the compiler's own pre-processor", () => {
      const disagreements = graph.files.flatMap((file) => {
        const text = readFileSync(join(SRC, file), 'utf8');
        const ours = [...new Set(readReferences(text).references.map((r) => r.specifier))].sort();
        const compilers = [...new Set(preProcessedSpecifiers(text))].sort();
        return JSON.stringify(ours) === JSON.stringify(compilers) ? [] : [`src/${file}: read ${ours.join(', ')}; tsc finds ${compilers.join(', ')}`];
      });
      expect(disagreements).toEqual([]);
    });

    it('resolves every relative specifier to a file', () => {
      expect(graph.unresolved.map((u) => `src/${u.file}:${u.line}: '${u.specifier}' names no file`)).toEqual([]);
    });

    it('names every module with a literal, or lists the call in COMPUTED_SPECIFIERS', () => {
      const listed = (c: { file: string; text: string }) => COMPUTED_SPECIFIERS.some((l) => l.file === c.file && l.text === c.text);
      expect(graph.computed.filter((c) => !listed(c)).map((c) => `src/${c.file}:${c.line}: ${c.text} hides its module from the graph`)).toEqual([]);
      expect(COMPUTED_SPECIFIERS.filter((l) => !graph.computed.some((c) => c.file === l.file && c.text === l.text))).toEqual([]);
    });
  });

  describe('is layered as ARCHITECTURE.md says', () => {
    it('places every file of src/ in a layer, and every entry of LAYERS holds a file', () => {
      expect(graph.files.filter((f) => layerOf(f) === undefined).map((f) => `src/${f} is in no layer`)).toEqual([]);
      const empty = LAYER_NAMES.flatMap((layer) =>
        LAYERS[layer].holds.filter((entry) => !graph.files.some((f) => (entry.endsWith('/') ? f.startsWith(entry) : f === entry))),
      );
      expect(empty.map((entry) => `LAYERS holds '${entry}', which is not in src/`)).toEqual([]);
    });

    for (const layer of LAYER_NAMES) {
      const rule = LAYERS[layer];
      const forbidden = LAYER_NAMES.filter((other) => other !== layer && !rule.mayImport.includes(other));
      if (forbidden.length === 0) continue;
      const names = forbidden.map((l) => (rule.mayImportTypesOf?.includes(l) ? `${LAYERS[l].title} (but its types)` : LAYERS[l].title));
      const into = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
      it(`has no edge from ${rule.title} into ${into}`, () => {
        const violations = fileEdges
          .filter((e) => layerOf(e.from) === layer && !isKnown(e))
          .flatMap((e) => layerViolation(e) ?? []);
        expect(violations).toEqual([]);
      });
    }

    for (const rule of PACKAGE_RULES) {
      it(rule.spec, () => {
        const violations = graph.edges.filter((e) => e.toPackage && !isKnown(e)).flatMap((e) => packageViolation(e) ?? []);
        expect(violations.filter((v) => v.includes(rule.spec.replace(/^keeps/, 'keep')))).toEqual([]);
      });
    }

    it('still has every edge KNOWN_EXCEPTIONS lists, and it still breaks a rule (fixed ones leave the list)', () => {
      const stale = KNOWN_EXCEPTIONS.edges.flatMap((known) => {
        const edge = graph.edges.find((e) => e.from === known.from && e.to === known.to);
        const fixed = edge === undefined ? 'no longer occurs' : layerViolation(edge) ?? packageViolation(edge) ? undefined : 'no longer breaks a rule';
        return fixed ? [`src/${known.from} → src/${known.to} ${fixed}: remove it from KNOWN_EXCEPTIONS (${known.reason})`] : [];
      });
      expect(stale).toEqual([]);
    });
  });

  describe('has no import cycle', () => {
    it('among the modules of src/, but those KNOWN_EXCEPTIONS lists', () => {
      const known = new Set(KNOWN_EXCEPTIONS.cycles.map((c) => c.cycle));
      expect(cycles.filter((c) => !known.has(c)).map((c) => `import cycle: ${c}`)).toEqual([]);
    });

    it('still has every cycle KNOWN_EXCEPTIONS lists (broken ones leave the list)', () => {
      const stale = KNOWN_EXCEPTIONS.cycles.filter((c) => !cycles.includes(c.cycle));
      expect(stale.map((s) => `no longer a cycle: ${s.cycle}: remove it from KNOWN_EXCEPTIONS (${s.reason})`)).toEqual([]);
    });
  });
});
