import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

// The client is loaded on every page of a user's site, so its size is part of its contract:
// the whole SDK, minified and gzipped as a browser app would ship it, stays within 6 KB.
const BUDGET_BYTES = 6 * 1024;

describe('client bundle size', () => {
  it('is at most 6 KB minified and gzipped', async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL('../packages/client/src/index.ts', import.meta.url))],
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2020',
      write: false,
    });
    const code = result.outputFiles[0]!.contents;
    const gzipped = gzipSync(code, { level: 9 }).length;
    console.log(`client: ${code.length} B minified, ${gzipped} B gzipped (budget ${BUDGET_BYTES} B)`);
    expect(gzipped).toBeLessThanOrEqual(BUDGET_BYTES);
  });
});
