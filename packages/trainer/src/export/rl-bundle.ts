import { createHash, randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DQN_GRAPH_INPUTS,
  DQN_GRAPH_OUTPUT,
  encodeDqnSideData,
  encodeDrrWeights,
  MANIFEST_FILE,
  manifestSchema,
  TastemakerError,
  type DqnSideData,
  type DrrWeights,
  type GraphSpec,
  type Manifest,
  type RlSection,
} from '@tastemaker/core';
import type { Csr } from '../data/dataset.js';
import { DEFAULT_OPSET } from '../onnx/builder.js';
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
    files: { ...manifest.files, [RL_WEIGHTS_FILE]: fileEntry(bytes) },
  };
  await writeFile(join(written.dir, RL_WEIGHTS_FILE), bytes);
  return replaceManifest(written.dir, draft);
}

function fileEntry(bytes: Uint8Array): { sha256: string; bytes: number } {
  return { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.byteLength };
}

/** Validates a manifest against core's schema and writes it under a temporary name, renamed over the old one. */
async function replaceManifest(dir: string, draft: Manifest): Promise<WrittenBundle> {
  const parsed = manifestSchema.safeParse(draft);
  if (!parsed.success) {
    throw new TastemakerError('INTERNAL', `The rl section does not satisfy core's schema: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const tmp = join(dir, `.${MANIFEST_FILE}.${randomBytes(4).toString('hex')}`);
  await writeFile(tmp, `${JSON.stringify(parsed.data, null, 2)}\n`);
  await rename(tmp, join(dir, MANIFEST_FILE));
  return { dir, manifest: parsed.data };
}

/** The DQN's Q-network graph inside a bundle. */
export const DQN_GRAPH = 'q_network';

/** What a DQN adds to its bundle (rl/dqn: DqnModel). */
export interface DqnBundleModel extends TrainedModel {
  dqnBundleParts(): { graph: Uint8Array; side: DqnSideData };
}

export function isDqnBundleModel(model: TrainedModel): model is DqnBundleModel {
  return typeof (model as Partial<DqnBundleModel>).dqnBundleParts === 'function';
}

/** The Q-network's declared signature (core/src/rl/dqn-policy.ts checks it against the side data and the graph). */
export function dqnGraphSpec(side: DqnSideData, file: string): GraphSpec {
  const n = side.stateSize;
  const shapes: Record<(typeof DQN_GRAPH_INPUTS)[number], { dtype: 'int64' | 'float32'; shape: (string | number)[] }> = {
    liked: { dtype: 'int64', shape: ['batch', n] },
    liked_len: { dtype: 'int64', shape: ['batch'] },
    skipped: { dtype: 'int64', shape: ['batch', n] },
    skipped_len: { dtype: 'int64', shape: ['batch'] },
    candidates: { dtype: 'int64', shape: ['candidates'] },
    prior: { dtype: 'float32', shape: ['batch', side.dim + 2] },
  };
  return {
    file,
    inputs: DQN_GRAPH_INPUTS.map((name) => ({ name, ...shapes[name] })),
    outputs: [{ name: DQN_GRAPH_OUTPUT, dtype: 'float32', shape: ['batch', 'candidates'] }],
    opset: DEFAULT_OPSET,
  };
}

/**
 * Adds a DQN's rl section: the Q-network graph (declared in `graphs`) and the side data file (each
 * known user's liked/skipped windows and the rating model the belief term is folded in from), then
 * the manifest, as addRlSection does.
 */
export async function addDqnSection(written: WrittenBundle, model: DqnBundleModel): Promise<WrittenBundle> {
  const { graph, side } = model.dqnBundleParts();
  const manifest = written.manifest;
  if (side.nItems !== manifest.items.count || side.nUsers !== manifest.users.count) {
    throw new TastemakerError('INTERNAL', `dqn: side data for ${side.nItems} items / ${side.nUsers} users, bundle has ${manifest.items.count} / ${manifest.users.count}`);
  }
  const file = `${DQN_GRAPH}.onnx`;
  const weights = encodeDqnSideData(side);
  const rl: RlSection = {
    kind: manifest.model.kind,
    algorithm: 'dqn',
    graph: DQN_GRAPH,
    weights: RL_WEIGHTS_FILE,
    stateSize: side.stateSize,
    params: { prior: side.prior, lambda: side.lambda, userPrior: side.userPrior, dim: side.dim },
  };
  const draft: Manifest = {
    ...manifest,
    graphs: { ...manifest.graphs, [DQN_GRAPH]: dqnGraphSpec(side, file) },
    rl,
    files: { ...manifest.files, [file]: fileEntry(graph), [RL_WEIGHTS_FILE]: fileEntry(weights) },
  };
  await writeFile(join(written.dir, file), graph);
  await writeFile(join(written.dir, RL_WEIGHTS_FILE), weights);
  return replaceManifest(written.dir, draft);
}
