import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * The real module graph of a source tree, read by the TypeScript compiler's own parser
 * (not by a pattern over lines), so an import split over several lines, an
 * `export … from`, an `import x = require()`, a dynamic `import()`, a `require()` and
 * a type position's `import('…').T` are each an edge. Used by
 * test/unit/architecture.test.ts.
 */

/** One place in a file that names another module. */
export interface Reference {
  /** As written: './x', '../graphql/context', 'ioredis'. */
  specifier: string;
  /** 1-based. */
  line: number;
  kind: 'import' | 'export from' | 'import = require' | 'import()' | 'require()' | 'import type node' | 'reference path';
  /** Erased when compiled (`import type`, `export type`, every named binding `type`, `import('x').T`). */
  typeOnly: boolean;
}

/** An `import()` or `require()` whose argument is not a literal: no edge can be read from it. */
export interface ComputedSpecifier {
  file: string;
  line: number;
  text: string;
}

/** Every module one file names, in the order they appear. */
export function readReferences(text: string, fileName = 'file.ts'): { references: Reference[]; computed: Array<{ line: number; text: string }> } {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const references: Reference[] = [];
  const computed: Array<{ line: number; text: string }> = [];
  const lineOf = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const add = (node: ts.Node, specifier: string, kind: Reference['kind'], typeOnly: boolean) =>
    references.push({ specifier, line: lineOf(node), kind, typeOnly });

  for (const ref of source.referencedFiles) {
    references.push({ specifier: ref.fileName, line: source.getLineAndCharacterOfPosition(ref.pos).line + 1, kind: 'reference path', typeOnly: true });
  }

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node, node.moduleSpecifier.text, 'import', typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly =
        node.isTypeOnly ||
        (node.exportClause !== undefined &&
          ts.isNamedExports(node.exportClause) &&
          node.exportClause.elements.length > 0 &&
          node.exportClause.elements.every((e) => e.isTypeOnly));
      add(node, node.moduleSpecifier.text, 'export from', typeOnly);
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteralLike(node.moduleReference.expression)
    ) {
      add(node, node.moduleReference.expression.text, 'import = require', node.isTypeOnly);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node, node.argument.literal.text, 'import type node', true);
    } else if (ts.isCallExpression(node)) {
      const isImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if (isImport || isRequire) {
        const [arg] = node.arguments;
        if (arg && ts.isStringLiteralLike(arg)) add(node, arg.text, isImport ? 'import()' : 'require()', false);
        else computed.push({ line: lineOf(node), text: node.getText(source) });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { references, computed };
}

/** What the compiler's pre-processor (the scanner tsc uses to find a program's files) names in the same text. */
export function preProcessedSpecifiers(text: string): string[] {
  const info = ts.preProcessFile(text, true, true);
  return [...info.importedFiles, ...info.referencedFiles].map((f) => f.fileName);
}

/** A dependency of one file on another file (relative specifiers) or on a package (bare ones). */
export interface Edge {
  /** Relative to the root, with '/': 'writethrough/repository.ts'. */
  from: string;
  /** A file relative to the root ('cache/cache.ts'), '../x' for a file outside it, or a package name ('ioredis', '@apollo/server', 'node:fs'). */
  to: string;
  toPackage: boolean;
  /** Every place `from` names `to`. */
  references: Reference[];
  /** True when every one of those references is erased at compile time. */
  typeOnly: boolean;
}

export interface ModuleGraph {
  root: string;
  /** Every .ts file under the root, relative, sorted. */
  files: string[];
  edges: Edge[];
  computed: ComputedSpecifier[];
  /** Relative specifiers that name no file: a broken graph, reported rather than dropped. */
  unresolved: Array<{ file: string; line: number; specifier: string }>;
}

export function sourceFiles(root: string): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : [];
    });
  return walk(root)
    .map((path) => toPosix(relative(root, path)))
    .sort();
}

/**
 * `./x` → `x.ts`, else `x/index.ts` (as node16 resolution does for these CommonJS
 * sources); `./x.js` → `x.ts`; a specifier naming an existing file with its extension
 * (`../package.json`) → that file. Undefined when nothing is there.
 */
export function resolveRelative(root: string, fromFile: string, specifier: string): string | undefined {
  const base = resolve(root, dirname(fromFile), specifier);
  const candidates = [`${base}.ts`, join(base, 'index.ts')];
  if (base.endsWith('.js')) candidates.unshift(`${base.slice(0, -3)}.ts`);
  if (/\.[cm]?[jt]s$|\.json$/.test(base)) candidates.push(base);
  const found = candidates.find((path) => existsSync(path) && statSync(path).isFile());
  return found === undefined ? undefined : toPosix(relative(root, found));
}

export function packageOf(specifier: string): string {
  if (specifier.startsWith('node:')) return specifier;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

export function readModuleGraph(root: string): ModuleGraph {
  const files = sourceFiles(root);
  const edges = new Map<string, Edge>();
  const computed: ComputedSpecifier[] = [];
  const unresolved: ModuleGraph['unresolved'] = [];
  for (const file of files) {
    const { references, computed: dynamic } = readReferences(readFileSync(join(root, file), 'utf8'), file);
    computed.push(...dynamic.map((d) => ({ file, ...d })));
    for (const ref of references) {
      const relativeSpecifier = ref.specifier.startsWith('./') || ref.specifier.startsWith('../') || ref.kind === 'reference path';
      let to: string;
      if (relativeSpecifier) {
        const target = resolveRelative(root, file, ref.specifier);
        if (target === undefined) {
          unresolved.push({ file, line: ref.line, specifier: ref.specifier });
          continue;
        }
        to = target;
      } else {
        to = packageOf(ref.specifier);
      }
      const key = `${file}\0${to}`;
      const edge = edges.get(key) ?? { from: file, to, toPackage: !relativeSpecifier, references: [], typeOnly: true };
      edge.references.push(ref);
      edge.typeOnly &&= ref.typeOnly;
      edges.set(key, edge);
    }
  }
  return { root, files, edges: [...edges.values()], computed, unresolved };
}

/**
 * Every elementary cycle among the files (package edges left out), each as a path
 * that starts and ends at its alphabetically first file: ['a.ts', 'b.ts', 'a.ts'].
 * Found per strongly connected component (Tarjan), then enumerated within it by a
 * depth-first search from each member over members after it (Johnson's idea, without
 * his blocking sets: the components here are small; `limit` guards the count).
 */
export function importCycles(graph: ModuleGraph, limit = 10_000): string[][] {
  const next = new Map<string, string[]>();
  for (const file of graph.files) next.set(file, []);
  for (const edge of graph.edges) if (!edge.toPackage && next.has(edge.to)) next.get(edge.from)!.push(edge.to);
  for (const targets of next.values()) targets.sort();

  const cycles: string[][] = [];
  for (const component of stronglyConnected(graph.files, next)) {
    const members = new Set(component);
    const order = [...component].sort();
    for (const [i, start] of order.entries()) {
      const allowed = new Set(order.slice(i));
      const path = [start];
      const onPath = new Set(path);
      const walk = (node: string): void => {
        for (const target of next.get(node)!) {
          if (!members.has(target) || !allowed.has(target)) continue;
          if (target === start) {
            cycles.push([...path, start]);
            if (cycles.length > limit) throw new Error(`more than ${limit} import cycles; the component ${order.join(', ')} is tangled`);
          } else if (!onPath.has(target)) {
            path.push(target);
            onPath.add(target);
            walk(target);
            onPath.delete(target);
            path.pop();
          }
        }
      };
      walk(start);
    }
  }
  return cycles.sort((a, b) => a.join(' ').localeCompare(b.join(' ')));
}

function stronglyConnected(nodes: string[], next: Map<string, string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (node: string): void => {
    indices.set(node, index);
    low.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of next.get(node)!) {
      if (!indices.has(target)) {
        connect(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, indices.get(target)!));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      const selfLoop = component.length === 1 && next.get(node)!.includes(node);
      if (component.length > 1 || selfLoop) components.push(component);
    }
  };
  for (const node of nodes) if (!indices.has(node)) connect(node);
  return components;
}

function toPosix(path: string): string {
  return path.split(sep).join('/');
}
