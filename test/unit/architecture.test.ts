import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]!);
}

describe('module boundaries', () => {
  it('keeps the write-through core free of GraphQL', () => {
    const core = [...sources(join(SRC, 'cache')), ...sources(join(SRC, 'writethrough')), ...sources(join(SRC, 'db')), join(SRC, 'core.ts'), join(SRC, 'errors.ts')];
    const offenders = core.filter((file) =>
      importsOf(file).some((m) => /graphql|type-graphql|@apollo|dataloader-graphql/.test(m) || m.includes('/graphql/') || m.includes('/modules/')),
    );
    expect(offenders.map((f) => relative(SRC, f))).toEqual([]);
  });

  it('keeps resolvers away from drizzle and ioredis', () => {
    const resolvers = sources(join(SRC, 'modules'));
    const offenders = resolvers.filter((file) => importsOf(file).some((m) => /drizzle|ioredis|mysql2/.test(m)));
    expect(offenders.map((f) => relative(SRC, f))).toEqual([]);
  });
});
