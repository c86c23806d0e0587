import { TastemakerError, invalidConfig } from '@tastemaker/core';
import type { Csr, Dataset } from '../../data/dataset.js';
import { Rng } from '../../engine/rng.js';
import type { RankerExport } from '../../export/types.js';
import { buildAdjacency, sampleNeighbors, selfNeighbors } from '../../kg/adjacency.js';
import { knowledgeGraphOf } from '../../kg/item-kg.js';
import type { FitOptions, ModelFactory, TrainedModel, TrainInfo, TrainSet } from '../types.js';
import { checkScoreBatch, numberOption, positiveInt } from '../validation.js';
import { ArrayAdam } from './array-adam.js';
import { kgcnRankerExport } from './export.js';
import { KGCN_AGGREGATORS, KgcnWorkspace, initKgcnWeights, meanUser, zeroGradients, type KgcnAggregator, type KgcnWeights } from './network.js';
import { csrHas } from '../../data/csr.js';

export { KGCN_AGGREGATORS, KgcnWorkspace, initKgcnWeights, zeroGradients, type KgcnAggregator, type KgcnWeights } from './network.js';
export { kgcnRankerExport } from './export.js';

/** `extra.knowledge`: the item's KG neighbourhood, or only itself (the no-KG ablation). */
export const KGCN_KNOWLEDGE = ['graph', 'none'] as const;
export type KgcnKnowledge = (typeof KGCN_KNOWLEDGE)[number];

/** The paper's Last.FM settings (KGCN README, `--dataset music`). */
export const KGCN_DEFAULTS = {
  dim: 16,
  /** extra.nIter: hops of neighbourhood */
  nIter: 1,
  /** neighbours sampled per entity (`--neighbors`) */
  neighbors: 8,
  aggregator: 'sum' as KgcnAggregator,
  epochs: 10,
  learningRate: 5e-4,
  batchSize: 128,
  /** weight of KGCN's tf.nn.l2_loss on the user, entity and relation tables and the aggregator weights */
  l2: 1e-4,
  knowledge: 'graph' as KgcnKnowledge,
} as const;

export interface KgcnParams {
  dim: number;
  nIter: number;
  neighbors: number;
  aggregator: KgcnAggregator;
  epochs: number;
  learningRate: number;
  batchSize: number;
  l2: number;
  knowledge: KgcnKnowledge;
}

function choice<T extends string>(name: string, value: unknown, fallback: T, valid: readonly T[]): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(valid as readonly string[]).includes(value)) throw invalidConfig(`kgcn ${name}`, value, valid);
  return value as T;
}

export function kgcnParams(options: FitOptions): KgcnParams {
  const extra = options.extra ?? {};
  const d = KGCN_DEFAULTS;
  const nIter = numberOption('kgcn', 'nIter', extra.nIter, d.nIter, (v) => positiveInt(v) && v <= 4, 'It must be an integer in [1, 4].');
  const neighbors = numberOption('kgcn', 'neighbors', options.neighbors, d.neighbors, positiveInt, 'It must be a positive integer.');
  if (neighbors ** nIter > 4096) {
    throw new TastemakerError('INVALID_CONFIG', `kgcn: neighbors^nIter = ${neighbors}^${nIter} entities per item is too many (limit 4096).`, { neighbors, nIter });
  }
  return {
    dim: numberOption('kgcn', 'dim', options.dim, d.dim, positiveInt, 'It must be a positive integer.'),
    nIter,
    neighbors,
    aggregator: choice('aggregator', extra.aggregator, d.aggregator, KGCN_AGGREGATORS),
    epochs: numberOption('kgcn', 'epochs', options.epochs, d.epochs, (v) => Number.isInteger(v) && v >= 0, 'It must be an integer ≥ 0.'),
    learningRate: numberOption('kgcn', 'learningRate', options.learningRate, d.learningRate, (v) => Number.isFinite(v) && v > 0, 'It must be a positive number.'),
    batchSize: numberOption('kgcn', 'batchSize', options.batchSize, d.batchSize, positiveInt, 'It must be a positive integer.'),
    l2: numberOption('kgcn', 'l2', options.l2, d.l2, (v) => Number.isFinite(v) && v >= 0, 'It must be a number ≥ 0.'),
    knowledge: choice('knowledge', extra.knowledge, d.knowledge, KGCN_KNOWLEDGE),
  };
}

/** Labelled training pairs: the protocol's own (value > 0 positive, value ≤ 0 a sampled negative). */
interface Pairs {
  user: Int32Array;
  item: Int32Array;
  label: Uint8Array;
}

function labelledPairs(dataset: Dataset): Pairs | undefined {
  const { user, item, value } = dataset.interactions;
  let negatives = 0;
  for (let r = 0; r < value.length; r++) if (!((value[r] as number) > 0)) negatives++;
  if (negatives === 0) return undefined;
  return { user, item, label: Uint8Array.from(value, (v) => (v > 0 ? 1 : 0)) };
}

/**
 * Without labelled negatives (plain implicit data), every positive is paired with one item the
 * user never interacted with, drawn afresh each epoch — KGCN's preprocessing draws them once, at
 * the same 1:1 ratio.
 */
function sampledPairs(csr: Csr, rng: Rng): Pairs {
  const nnz = csr.indptr[csr.rows]!;
  const user = new Int32Array(2 * nnz);
  const item = new Int32Array(2 * nnz);
  const label = new Uint8Array(2 * nnz);
  let n = 0;
  for (let u = 0; u < csr.rows; u++) {
    const start = csr.indptr[u]!;
    const end = csr.indptr[u + 1]!;
    const full = end - start >= csr.cols;
    for (let e = start; e < end; e++) {
      user[n] = u;
      item[n] = csr.indices[e]!;
      label[n++] = 1;
      if (full) continue;
      let j = rng.int(csr.cols);
      for (let tries = 0; tries < 64 && csrHas(csr, u, j); tries++) j = rng.int(csr.cols);
      if (csrHas(csr, u, j)) continue;
      user[n] = u;
      item[n] = j;
      label[n++] = 0;
    }
  }
  return { user: user.subarray(0, n), item: item.subarray(0, n), label: label.subarray(0, n) };
}

export interface KgcnTrainResult {
  weights: KgcnWeights;
  losses: number[];
}

/** Fits KGCN on the TrainSet (labelled pairs if present, sampled negatives otherwise). */
export function trainKgcn(train: TrainSet, params: KgcnParams, seed: number, onEpoch?: (epoch: number, loss: number) => void): KgcnTrainResult {
  const dataset = train.dataset;
  const kg = knowledgeGraphOf(dataset);
  if (kg.itemEntity.length !== dataset.items.size) {
    throw new TastemakerError('INVALID_ARGUMENT', `kgcn: the knowledge graph maps ${kg.itemEntity.length} items but the data set has ${dataset.items.size}`);
  }
  const rng = new Rng(seed);
  const adjacency = buildAdjacency(kg);
  // forked either way, so the no-KG ablation starts from the same initial weights
  const sampleRng = rng.fork();
  const neighbors =
    params.knowledge === 'graph' ? sampleNeighbors(adjacency, params.neighbors, sampleRng) : selfNeighbors(kg.entityCount, params.neighbors, kg.relationCount);
  const w = initKgcnWeights(
    { nUsers: dataset.users.size, nItems: dataset.items.size, dim: params.dim, nIter: params.nIter, aggregator: params.aggregator },
    neighbors,
    kg.itemEntity,
    rng.fork(),
  );
  const d = params.dim;
  const g = zeroGradients(w);
  const lr = params.learningRate;
  // KGCN adds l2 · tf.nn.l2_loss of the whole tables to its loss, so every row gets a gradient
  // every step and TensorFlow's Adam updates them all: dense Adam here too
  const optimisers: [ArrayAdam, Float32Array][] = [
    [new ArrayAdam(w.user, lr, params.l2), g.user],
    [new ArrayAdam(w.entity, lr, params.l2), g.entity],
    [new ArrayAdam(w.relation, lr, params.l2), g.relation],
  ];
  w.layers.forEach((layer, i) => {
    optimisers.push([new ArrayAdam(layer.weight, lr, params.l2), g.layers[i]!.weight]);
    optimisers.push([new ArrayAdam(layer.bias, lr), g.layers[i]!.bias]);
  });
  const ws = new KgcnWorkspace(w);
  const du = new Float64Array(d);
  const given = labelledPairs(dataset);
  const losses: number[] = [];
  for (let epoch = 0; epoch < params.epochs; epoch++) {
    const epochRng = rng.fork();
    const pairs = given ?? sampledPairs(train.csr, epochRng);
    const order = Int32Array.from({ length: pairs.user.length }, (_, k) => k);
    epochRng.shuffle(order);
    let lossSum = 0;
    for (let start = 0; start < order.length; start += params.batchSize) {
      const end = Math.min(order.length, start + params.batchSize);
      const scale = 1 / (end - start);
      ws.invalidate();
      for (let t = start; t < end; t++) {
        const k = order[t]!;
        const u = pairs.user[k]!;
        const y = pairs.label[k]!;
        const uVec = w.user.subarray(u * d, u * d + d);
        const logit = ws.forward(uVec, u, pairs.item[k]!);
        const p = 1 / (1 + Math.exp(-logit));
        // binary cross-entropy with logits, written to stay finite for large |logit|
        lossSum += Math.max(logit, 0) - logit * y + Math.log1p(Math.exp(-Math.abs(logit)));
        du.fill(0);
        ws.backward(uVec, (p - y) * scale, g, du);
        for (let c = 0; c < d; c++) g.user[u * d + c] = g.user[u * d + c]! + du[c]!;
      }
      for (const [opt, grad] of optimisers) {
        opt.step(grad);
        grad.fill(0);
      }
    }
    const loss = order.length > 0 ? lossSum / order.length : 0;
    losses.push(loss);
    onEpoch?.(epoch + 1, loss);
  }
  return { weights: w, losses };
}

class KgcnModel implements TrainedModel {
  readonly id = 'kgcn' as const;
  readonly nUsers: number;
  readonly nItems: number;
  private disposed = false;
  private readonly mean: Float32Array;

  constructor(
    private readonly w: KgcnWeights,
    readonly info: TrainInfo,
  ) {
    this.nUsers = w.nUsers;
    this.nItems = w.nItems;
    this.mean = meanUser(w);
  }

  /**
   * Logits of every item. KGCN has no fold-in for new users: an unknown user (-1) is the mean user
   * embedding, the same stand-in the exported ranker uses; histories are not used.
   */
  async scoreBatch(users: Int32Array, histories: readonly Int32Array[]): Promise<Float32Array> {
    if (this.disposed) throw new TastemakerError('DISPOSED', 'kgcn model was disposed');
    checkScoreBatch('kgcn', users, histories, this.nUsers, this.nItems);
    const d = this.w.dim;
    const n = this.nItems;
    const out = new Float32Array(users.length * n);
    const ws = new KgcnWorkspace(this.w);
    for (let b = 0; b < users.length; b++) {
      const u = users[b]!;
      const uVec = u >= 0 ? this.w.user.subarray(u * d, u * d + d) : this.mean;
      const key = u >= 0 ? u : this.nUsers;
      for (let i = 0; i < n; i++) out[b * n + i] = ws.forward(uVec, key, i);
    }
    return out;
  }

  exportSpec(): RankerExport {
    if (this.disposed) throw new TastemakerError('DISPOSED', 'kgcn model was disposed');
    return kgcnRankerExport(this.w);
  }

  dispose(): void {
    this.disposed = true;
  }
}

export const kgcnModel: ModelFactory = {
  id: 'kgcn',
  ranker: true,
  description:
    'KGCN (Wang et al. 2019): item embeddings aggregated over sampled knowledge-graph neighbours with user-specific relation attention; trained on labelled pairs (sampled negatives when the data has none).',
  async fit(train: TrainSet, options: FitOptions): Promise<TrainedModel> {
    const params = kgcnParams(options);
    const progress = options.progress;
    const started = performance.now();
    progress?.start('kgcn: epochs', params.epochs);
    let result: KgcnTrainResult;
    try {
      result = trainKgcn(train, params, options.seed, (epoch, loss) => progress?.update(epoch, { loss: Number(loss.toFixed(4)) }));
    } finally {
      progress?.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    const samples = labelledPairs(train.dataset)?.user.length ?? 2 * (train.csr.indptr[train.csr.rows] ?? 0);
    options.log?.(
      `kgcn: ${params.epochs} epochs over ${samples} pairs (${params.aggregator} aggregator, knowledge ${params.knowledge}) in ${seconds.toFixed(1)} s, final loss ${result.losses.at(-1)?.toFixed(4) ?? 'n/a'}`,
    );
    return new KgcnModel(result.weights, {
      backend: 'typed-arrays',
      epochs: params.epochs,
      samplesPerSecond: seconds > 0 ? Math.round((samples * params.epochs) / seconds) : 0,
      params: { ...params },
    });
  },
};
