import { createHash, randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeDrrWeights, MANIFEST_FILE, manifestSchema, TastemakerError, type DrrWeights, type RlSection } from '@tastemaker/core';
import type { Csr } from '../data/dataset.js';
import type { TrainedModel } from '../models/types.js';
import type { WrittenBundle } from './bundle-writer.js';

/** The rl section's weights file inside a bundle. */
export const RL_WEIGHTS_FILE = 'rl.weights';

/** What a model that serves as an RL policy adds to its bundle (DRR's DrrModel has it). */
export interface RlBundleModel extends TrainedModel {
  drrWeights(): DrrWeights;
  /** the history the state is read from: each known user's positives, oldest first */
  positivesCsr(): Csr;
}

export function isRlBundleModel(model: TrainedModel): model is RlBundleModel {
  const m = model as Partial<RlBundleModel>;
  return typeof m.drrWeights === 'function' && typeof m.positivesCsr === 'function';
}

export interface RlBundleParts {
  /** the bundle's history CSR (replaces the train set's) */
  history: Csr;
  /** the graph reads the last stateSize items */
  maxHistory: number;
  weights: DrrWeights;
}

/** The bundle parts of an RL model, or undefined for any other model. */
export function rlBundleParts(model: TrainedModel): RlBundleParts | undefined {
  if (!isRlBundleModel(model)) return undefined;
  const weights = model.drrWeights();
  return { history: model.positivesCsr(), maxHistory: weights.shape.stateSize, weights };
}

/**
 * Adds the rl section to a freshly written bundle: the weights file first, then the manifest
 * (re-validated against core's schema, written to a temporary name and renamed over the old one),
 * so a reader sees either the bundle without the section or the complete one.
 */
export async function addRlSection(written: WrittenBundle, parts: RlBundleParts): Promise<WrittenBundle> {
  const bytes = encodeDrrWeights(parts.weights);
  const manifest = written.manifest;
  const graph = Object.keys(manifest.graphs).find((name) => name === 'user_tower');
  if (graph === undefined) throw new TastemakerError('INTERNAL', `The ${manifest.model.kind} bundle has no user_tower graph for its actor`);
  const rl: RlSection = {
    kind: manifest.model.kind,
    algorithm: 'ddpg',
    graph,
    weights: RL_WEIGHTS_FILE,
    stateSize: parts.weights.shape.stateSize,
    params: { ...parts.weights.shape },
  };
  const draft = {
    ...manifest,
    rl,
    files: { ...manifest.files, [RL_WEIGHTS_FILE]: { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.byteLength } },
  };
  const parsed = manifestSchema.safeParse(draft);
  if (!parsed.success) {
    throw new TastemakerError('INTERNAL', `The rl section does not satisfy core's schema: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  await writeFile(join(written.dir, RL_WEIGHTS_FILE), bytes);
  const tmp = join(written.dir, `.${MANIFEST_FILE}.${randomBytes(4).toString('hex')}`);
  await writeFile(tmp, `${JSON.stringify(parsed.data, null, 2)}\n`);
  await rename(tmp, join(written.dir, MANIFEST_FILE));
  return { dir: written.dir, manifest: parsed.data };
}
