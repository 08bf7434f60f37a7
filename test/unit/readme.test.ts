import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ApolloServerErrorCode } from '@apollo/server/errors';
import { describe, expect, it } from 'vitest';
import { loadConfig, SETTING_NAMES } from '../../src/config';

/**
 * What a new user reads first, kept in step with what the code does: the README's
 * Quickstart, every command it names, and every setting, in README.md, .env.example
 * and src/config.ts alike.
 */
const ROOT = resolve(__dirname, '../..');
const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
const envExample = readFileSync(resolve(ROOT, '.env.example'), 'utf8');
const scripts = Object.keys((JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);

/** The variables .env.example sets (`NAME=value`) or shows unset (`# NAME=`), with the value given. */
function exampleSettings(): Map<string, { value: string; commented: boolean }> {
  const settings = new Map<string, { value: string; commented: boolean }>();
  for (const line of envExample.split('\n')) {
    const match = /^(# )?([A-Z][A-Z0-9_]+)=(.*)$/.exec(line);
    if (match) settings.set(match[2]!, { value: match[3]!, commented: match[1] !== undefined });
  }
  return settings;
}

/**
 * The other upper-case names the README puts in code spans: error codes (quoted in
 * src/, or Apollo's own) and the example client's build-time VITE_ variables.
 */
function namesThatAreNotSettings(): Set<string> {
  const names = new Set<string>(Object.values(ApolloServerErrorCode));
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : /\.(ts|js)$/.test(e.name) ? [join(dir, e.name)] : []));
  for (const file of [...sources(resolve(ROOT, 'src')), ...sources(resolve(ROOT, 'examples/web/src'))]) {
    if (file.endsWith('config.ts')) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'/g)) names.add(m[1]!);
    for (const m of text.matchAll(/\b(VITE_[A-Z0-9_]+)/g)) names.add(m[1]!);
  }
  return names;
}

describe('the README', () => {
  it('starts with a Quickstart of two commands: install and start, then test', () => {
    const quickstart = /## Quickstart\n\n```sh\n([\s\S]*?)```/.exec(readme)?.[1];
    const commands = quickstart?.trimEnd().split('\n').map((line) => line.replace(/\s+#.*$/, ''));
    expect(commands).toEqual(['npm install && npm start', 'npm test']);
    expect(scripts).toEqual(expect.arrayContaining(['start', 'test']));
  });

  it('names only npm scripts that exist, and its Scripts table lists every one of them', () => {
    const named = new Set([...readme.matchAll(/`npm run ([a-z][a-z0-9:-]*)/g)].map((m) => m[1]!));
    expect([...named].filter((name) => !scripts.includes(name))).toEqual([]);
    const table = /## Scripts\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
    const listed = new Set([...table.matchAll(/^\| `npm (?:run )?([a-z][a-z0-9:-]*)/gm)].map((m) => m[1]!));
    expect(scripts.filter((name) => !listed.has(name))).toEqual([]);
  });

  it('names only settings the service reads', () => {
    const known = new Set([...SETTING_NAMES, 'ENV_FILE', ...namesThatAreNotSettings()]);
    // A setting is written as `NAME` or `NAME=…` in a code span.
    const named = new Set([...readme.matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?:=[^`]*)?`/g)].map((m) => m[1]!));
    expect([...named].filter((name) => !known.has(name))).toEqual([]);
  });
});

describe('.env.example', () => {
  it('lists every setting of src/config.ts, and nothing else', () => {
    const listed = [...exampleSettings().keys()];
    expect(SETTING_NAMES.filter((name) => !listed.includes(name))).toEqual([]);
    expect(listed.filter((name) => !SETTING_NAMES.includes(name))).toEqual([]);
  });

  it('shows the default of every setting it sets: setting them all changes nothing', () => {
    const given = Object.fromEntries([...exampleSettings()].filter(([, s]) => !s.commented).map(([name, s]) => [name, s.value]));
    const strip = (config: object) => JSON.parse(JSON.stringify(config, (key, value) => (key === 'instanceId' ? undefined : value)));
    expect(strip(loadConfig(given))).toEqual(strip(loadConfig({})));
  });
});
