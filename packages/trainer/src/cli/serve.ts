import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { TastemakerError } from '@tastemaker/core';
import { writeModelBundle } from '../export/index.js';
import { fitModel } from '../models/index.js';
import { positivesTrainSet } from '../models/train-set.js';
import type { FitOptions } from '../models/types.js';
import { syntheticDataset } from '../synthetic/index.js';

/** Where `tastemaker serve` keeps its embedded default (bundle + SQLite), relative to the working directory. */
export const DEFAULT_HOME = '.tastemaker';

/**
 * The bundle served when none is given: trained once on the generated data set and reused after.
 * It is written atomically (see writeBundle), so an interrupted first run leaves nothing half-made.
 */
export async function ensureDefaultBundle(home: string, options: FitOptions, model = 'two-tower'): Promise<string> {
  const dir = path.join(home, 'bundles', `demo-${model}`);
  if (existsSync(path.join(dir, 'manifest.json'))) return dir;
  await mkdir(path.dirname(dir), { recursive: true });
  options.log?.(`training the default ${model} bundle on a generated data set (first run only)…`);
  const dataset = syntheticDataset({ seed: options.seed });
  const train = positivesTrainSet(dataset);
  const fitted = await fitModel(model, train, options);
  try {
    await writeModelBundle(dir, fitted, train);
  } finally {
    fitted.dispose();
  }
  return dir;
}

/** The part of @tastemaker/server's node entry the CLI uses. */
interface ServerModule {
  startServer(options: {
    bundle: string;
    db?: string;
    port?: number;
    host?: string;
    modelsDir?: string;
    device?: string;
  }): Promise<{ url: string; close(): Promise<void> }>;
}

/**
 * @tastemaker/server is an optional peer of the trainer (the trainer may depend on core only), so it
 * is loaded on demand; a specifier held in a variable keeps bundlers and d.ts builds from following it.
 */
export async function loadServer(): Promise<ServerModule> {
  const specifier = '@tastemaker/server';
  try {
    return (await import(specifier)) as ServerModule;
  } catch (e) {
    throw new TastemakerError('INVALID_CONFIG', `tastemaker serve needs @tastemaker/server: npm install @tastemaker/server (${e instanceof Error ? e.message : String(e)}).`);
  }
}
