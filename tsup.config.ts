import { readFileSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';

// One build for every workspace package: ESM + CJS + d.ts into packages/<name>/dist.
// Workspace siblings and each package's own npm dependencies stay external, so a package ships only
// its own code (tsup would otherwise read the root package.json, which lists none of them).
function dependenciesOf(name: string): string[] {
  const manifest = JSON.parse(readFileSync(`packages/${name}/package.json`, 'utf8')) as Record<string, Record<string, string> | undefined>;
  return ['dependencies', 'optionalDependencies', 'peerDependencies'].flatMap((k) => Object.keys(manifest[k] ?? {}));
}

const pkg = (name: string, entry: Record<string, string>, extra: Partial<Options> = {}): Options => ({
  name,
  entry: Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, `packages/${name}/${v}`])),
  outDir: `packages/${name}/dist`,
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: true,
  external: [/^@tastemaker\//, ...dependenciesOf(name)],
  tsconfig: 'tsconfig.build.json',
  ...extra,
});

const packages = [
  pkg('core', { index: 'src/index.ts', node: 'src/node.ts' }),
  pkg('client', { index: 'src/index.ts' }, { target: 'es2020', platform: 'browser', minify: false }),
  pkg('trainer', { index: 'src/index.ts', cli: 'src/cli/index.ts' }),
  pkg('server', { index: 'src/index.ts', node: 'src/node.ts' }),
];

// tsup builds the configs in parallel, but the d.ts of trainer and server read core's built d.ts, so
// `npm run build` runs two stages; TSUP_PACKAGES picks the packages of a stage (all when unset).
const only = process.env.TSUP_PACKAGES?.split(',');
export default defineConfig(only ? packages.filter((p) => only.includes(p.name ?? '')) : packages);
