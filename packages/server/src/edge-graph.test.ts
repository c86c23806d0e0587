import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The main entry must run on edge runtimes: nothing reachable from index.ts may import node
 * built-ins, the node server adapter, prom-client, or core's node entry (which pulls in native
 * addons); core is imported as @tastemaker/core/edge.
 */
const NODE_ONLY = [/^node:/, /^@hono\/node-server/, /^prom-client$/, /^better-sqlite3$/, /^@tastemaker\/core$/, /^(fs|path|os|url|crypto|module|child_process|worker_threads)(\/|$)/];

function importsOf(source: string): string[] {
  const specifiers: string[] = [];
  const patterns = [/\bfrom\s+['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /^\s*import\s+['"]([^'"]+)['"]/gm];
  for (const re of patterns) for (const m of source.matchAll(re)) specifiers.push(m[1] as string);
  return specifiers;
}

function walk(entry: string): Map<string, string> {
  const files = new Set<string>();
  const external = new Map<string, string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    // Type-only imports vanish at build time, so they may name anything.
    const code = readFileSync(file, 'utf8').replace(/^\s*import\s+type\s[^;]+;/gm, '').replace(/^\s*export\s+type\s[^;]+;/gm, '');
    for (const spec of importsOf(code)) {
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else external.set(spec, file);
    }
  }
  return external;
}

describe('server edge entry import graph', () => {
  const here = dirname(fileURLToPath(import.meta.url));

  it('reaches no node-only module from src/index.ts', () => {
    const external = walk(resolve(here, 'index.ts'));
    expect([...external].filter(([spec]) => NODE_ONLY.some((re) => re.test(spec))).map(([spec, file]) => `${spec} ← ${file}`)).toEqual([]);
    expect(external.has('hono')).toBe(true);
  });

  it('does reach them from src/node.ts (the walk sees them)', () => {
    const external = walk(resolve(here, 'node.ts'));
    expect(external.has('@hono/node-server')).toBe(true);
    expect(external.has('@tastemaker/core')).toBe(true);
  });
});
