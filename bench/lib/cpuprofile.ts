import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Entry {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  /** Sampled time when the process was not idle. */
  busyMs: number;
  idleMs: number;
  /** Time spent in each function itself. */
  self: Entry[];
  /** Time spent in each function and everything it called. */
  inclusive: Entry[];
  /** Self time by where the code lives: a package, src/, node's internals, GC. */
  byOrigin: Entry[];
}

/** Where a function's code lives: `graphql`, `src/writethrough`, `node:internal`, `(garbage collector)`… */
function origin(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node:internal';
  const ours = /\/(src|bench)\/((?:[^/]+\/)?)/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]!.replace(/\/$/, '')}`.replace(/\/$/, '');
  return url;
}

const label = (n: ProfileNode) => {
  const file = n.callFrame.url.replace(/^.*\/(node_modules\/)/, '$1').replace(/^file:\/\/.*\/(src|bench)\//, '$1/');
  return `${n.callFrame.functionName || '(anonymous)'} ${file}:${n.callFrame.lineNumber + 1}`;
};

/**
 * Self and inclusive time per function from a .cpuprofile (what `node --cpu-prof`
 * writes). `window`: only the samples taken between these instants, in microseconds
 * of the monotonic clock (`process.hrtime.bigint() / 1000n` in any process on the
 * machine: V8 stamps its samples with the same clock).
 */
export function summarize(path: string, top = 25, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  let idleMs = 0;
  let busyMs = 0;
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') {
      idleMs += ms;
      return;
    }
    busyMs += ms;
    add(self, label(node), ms);
    add(byOrigin, origin(node.callFrame.url, node.callFrame.functionName), ms);
    // Each function once per sample, however often it recurs in the stack.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const key = label(byId.get(at)!);
      if (!seen.has(key)) {
        seen.add(key);
        add(inclusive, key, ms);
      }
    }
  });
  const rank = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, ms, share: ms / busyMs }));
  return { busyMs, idleMs, self: rank(self, top), inclusive: rank(inclusive, top * 2), byOrigin: rank(byOrigin, top) };
}
