import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(`./packages/${p}`, import.meta.url));

// Tests run against the TypeScript sources, so `npm test` needs no build step.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@tastemaker\/core\/edge$/, replacement: src('core/src/index.ts') },
      { find: /^@tastemaker\/core$/, replacement: src('core/src/node.ts') },
      { find: /^@tastemaker\/trainer$/, replacement: src('trainer/src/index.ts') },
      { find: /^@tastemaker\/server\/edge$/, replacement: src('server/src/index.ts') },
      { find: /^@tastemaker\/server$/, replacement: src('server/src/node.ts') },
      { find: /^@tastemaker\/client$/, replacement: src('client/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
