import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The edge entry must stay loadable where node built-ins and native addons do not exist. Walking
 * the static and dynamic imports of every module reachable from index.ts catches a stray import the
 * moment it is added, long before an edge bundler would.
 */
const NODE_ONLY = [/^node:/, /^onnxruntime-node$/, /^hnswlib-node$/, /^better-sqlite3$/, /^(fs|path|os|url|crypto|module|child_process|worker_threads)(\/|$)/];

function importsOf(source: string): string[] {
  const specifiers: string[] = [];
  const patterns = [/\bfrom\s+['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /^\s*import\s+['"]([^'"]+)['"]/gm];
  for (const re of patterns) for (const m of source.matchAll(re)) specifiers.push(m[1] as string);
  return specifiers;
}

function walk(entry: string): { files: Set<string>; external: Map<string, string> } {
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
  return { files, external };
}

describe('edge entry import graph', () => {
  const here = dirname(fileURLToPath(import.meta.url));

  it('reaches no node-only module from src/index.ts', () => {
    const { files, external } = walk(resolve(here, 'index.ts'));
    const offending = [...external].filter(([spec]) => NODE_ONLY.some((re) => re.test(spec)));
    expect(offending.map(([spec, file]) => `${spec} ← ${file}`)).toEqual([]);
    expect(files.size).toBeGreaterThan(5);
    expect(external.has('onnxruntime-web')).toBe(true);
  });

  it('does reach the node-only modules from src/node.ts (the walk sees them)', () => {
    const { external } = walk(resolve(here, 'node.ts'));
    expect(external.has('onnxruntime-node')).toBe(true);
    expect(external.has('hnswlib-node')).toBe(true);
  });
});
