import type { Csr, Dataset } from '../data/dataset.js';
import type { ExportSpec } from '../export/types.js';

export const MODEL_IDS = ['popularity', 'item-knn', 'ease', 'bpr', 'two-tower', 'vae-cf', 'mf-greedy', 'drr-n', 'drr-p', 'drr-u', 'drr-ave', 'dqn', 'reinforce', 'kgcn', 'lightgcn', 'kg-song', 'lr', 'poly2', 'fm', 'ffm', 'wide-deep', 'dlrm', 'gmf', 'mlp', 'neumf'] as const;
export type ModelId = (typeof MODEL_IDS)[number];

/** What a model trains on: the training part of a split, with its implicit user→item matrix. */
export interface TrainSet {
  /** the data set with only the training interactions (id maps and side features unchanged) */
  dataset: Dataset;
  /** implicit positives of `dataset`, user → items (values = interaction value) */
  csr: Csr;
}

/** Reports progress of long work; the CLI renders it as a bar on stderr. */
export interface ProgressSink {
  start(label: string, total: number): void;
  update(done: number, info?: Record<string, string | number>): void;
  stop(): void;
}

export const silentProgress: ProgressSink = { start() {}, update() {}, stop() {} };

export interface FitOptions {
  seed: number;
  epochs?: number;
  dim?: number;
  learningRate?: number;
  batchSize?: number;
  /** L2 regularisation strength (meaning depends on the model: EASE's lambda, BPR's weight decay) */
  l2?: number;
  /** item-knn: neighbours kept per item */
  neighbors?: number;
  /** tfjs backend preference; default: fastest present */
  backend?: string;
  progress?: ProgressSink;
  log?: (message: string) => void;
  /** model-specific extras from the CLI (`--set key=value`) */
  extra?: Record<string, string | number | boolean>;
}

export interface TrainInfo {
  /** tfjs backend that ran dense layers, or "typed-arrays" for models that need none */
  backend: string;
  epochs?: number;
  samplesPerSecond?: number;
  /** effective hyper-parameters, recorded in the bundle manifest */
  params: Record<string, unknown>;
}

export interface TrainedModel {
  readonly id: ModelId;
  readonly nUsers: number;
  readonly nItems: number;
  readonly info: TrainInfo;
  /**
   * Scores of every item for each requested user, row-major [users.length, nItems]; higher is better.
   * `users[b]` is a user index or -1 for a user unknown at training time, whose tastes come from
   * `histories[b]` (item indices) alone. Scores of items in the history are not masked here.
   */
  scoreBatch(users: Int32Array, histories: readonly Int32Array[]): Promise<Float32Array>;
  /** Parameters the ONNX exporter turns into graphs. */
  exportSpec(): ExportSpec;
  /**
   * For models with a user tower: the user vectors [users.length, dim] the exported user_tower.onnx
   * must reproduce (parity tests compare them).
   */
  embedUsers?(users: Int32Array, histories: readonly Int32Array[]): Promise<Float32Array>;
  /** Frees tfjs tensors and other resources. */
  dispose(): void;
}

export interface ModelFactory {
  id: ModelId;
  description: string;
  /**
   * The model exports a ranker (scores given (user, item) pairs), so it serves only as the second
   * stage of a two-stage bundle: `tastemaker train --retrieval M` pairs it with a retrieval model.
   */
  ranker?: boolean;
  fit(train: TrainSet, options: FitOptions): Promise<TrainedModel>;
}
