/**
 * The trained-model shell shared by the CTR models: a pair scorer over the slot layout
 * (feature-fields.ts) becomes a TrainedModel (scoreBatch over the whole catalogue) and a
 * RankerExport (slot tables + the model's scoring subgraph). The typed-array models (LR, Poly2, FM,
 * FFM) plug in a SlotLearner: per-example Adagrad steps, as libFM / libffm train.
 */
import { TastemakerError } from '@tastemaker/core';
import type { RankerExport } from '../../export/types.js';
import type { GraphBuilder, Value } from '../../onnx/builder.js';
import type { Rng } from '../../engine/rng.js';
import type { FitOptions, ModelId, TrainedModel, TrainInfo, TrainSet } from '../types.js';
import { checkScoreBatch } from '../validation.js';
import { buildCtrFeatures, pairSlots, pairSlotsGraph, slotCount, type CtrFeatures } from './feature-fields.js';
import type { LabelledPairs } from './labelled-pairs.js';
import { fitPointwise, pointwiseOptions, type PointwiseLearner } from './fit-loop.js';

/** Pairs scored per chunk, bounding the slot scratch buffers (and tfjs tensors) at any catalogue size. */
export const PAIR_CHUNK = 16384;

/**
 * Scores of every item for each user, [users.length, nItems], from a pair scorer. Users outside
 * [0, nUsers) are the unknown user; the models take no history input, so histories are ignored.
 */
export async function scoreAllItems(
  nUsers: number,
  nItems: number,
  users: Int32Array,
  scorePairs: (u: Int32Array, i: Int32Array) => Float32Array | Promise<Float32Array>,
): Promise<Float32Array> {
  const out = new Float32Array(users.length * nItems);
  const perChunk = Math.max(1, Math.floor(PAIR_CHUNK / Math.max(nItems, 1)));
  for (let s = 0; s < users.length; s += perChunk) {
    const e = Math.min(users.length, s + perChunk);
    const n = (e - s) * nItems;
    const pu = new Int32Array(n);
    const pi = new Int32Array(n);
    for (let b = s; b < e; b++) {
      const u = users[b] as number;
      const known = u >= 0 && u < nUsers ? u : nUsers;
      const o = (b - s) * nItems;
      pu.fill(known, o, o + nItems);
      for (let i = 0; i < nItems; i++) pi[o + i] = i;
    }
    out.set(await scorePairs(pu, pi), s * nItems);
  }
  return out;
}

/** A model over slot features trained by per-example steps in typed arrays. */
export interface SlotLearner {
  /** Logit of the example whose K slots start at `o` in idx/val. */
  logit(idx: Int32Array, val: Float32Array, o: number): number;
  /** One optimiser step on that example with label y ∈ {0, 1}; returns its log loss. */
  step(idx: Int32Array, val: Float32Array, o: number, y: number): number;
  /** Every trainable array (snapshots for early stopping; exports read them). */
  parameters(): Float32Array[];
  /** Scores as an ONNX subgraph: slot indices int64 [batch, K] and values float32 [batch, K] → float32 [batch]. */
  buildGraph(g: GraphBuilder, index: Value, value: Value): Value;
  /** Hyper-parameters recorded in TrainInfo. */
  readonly params: Record<string, unknown>;
}

/** log(1 + e^{−z}) for y = 1, log(1 + e^{z}) for y = 0, without overflow. */
export function logisticLoss(z: number, y: number): number {
  const s = y > 0 ? -z : z;
  return s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s));
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

export class SlotModel implements TrainedModel, PointwiseLearner<Float32Array[]> {
  readonly nUsers: number;
  readonly nItems: number;
  info: TrainInfo;
  private disposed = false;
  private readonly K: number;

  constructor(
    readonly id: ModelId,
    readonly features: CtrFeatures,
    readonly learner: SlotLearner,
  ) {
    this.nUsers = features.nUsers;
    this.nItems = features.nItems;
    this.K = slotCount(features);
    this.info = { backend: 'typed-arrays', params: { ...learner.params } };
  }

  trainEpoch(pairs: LabelledPairs, _rng: Rng): number {
    const K = this.K;
    let lossSum = 0;
    const n = pairs.user.length;
    const idx = new Int32Array(PAIR_CHUNK * K);
    const val = new Float32Array(PAIR_CHUNK * K);
    for (let s = 0; s < n; s += PAIR_CHUNK) {
      const e = Math.min(n, s + PAIR_CHUNK);
      pairSlots(this.features, pairs.user.subarray(s, e), pairs.item.subarray(s, e), idx, val);
      for (let b = 0; b < e - s; b++) lossSum += this.learner.step(idx, val, b * K, pairs.label[s + b] as number);
    }
    return n > 0 ? lossSum / n : 0;
  }

  scorePairs(users: Int32Array, items: Int32Array): Float32Array {
    const K = this.K;
    const n = users.length;
    const out = new Float32Array(n);
    const idx = new Int32Array(Math.min(n, PAIR_CHUNK) * K);
    const val = new Float32Array(Math.min(n, PAIR_CHUNK) * K);
    for (let s = 0; s < n; s += PAIR_CHUNK) {
      const e = Math.min(n, s + PAIR_CHUNK);
      pairSlots(this.features, users.subarray(s, e), items.subarray(s, e), idx, val);
      for (let b = 0; b < e - s; b++) out[s + b] = this.learner.logit(idx, val, b * K);
    }
    return out;
  }

  capture(): Float32Array[] {
    return this.learner.parameters().map((a) => a.slice());
  }

  restore(state: Float32Array[]): void {
    this.learner.parameters().forEach((a, k) => a.set(state[k] as Float32Array));
  }

  async scoreBatch(users: Int32Array, histories: readonly Int32Array[]): Promise<Float32Array> {
    this.assertLive();
    checkScoreBatch(this.id, users, histories, this.nUsers, this.nItems);
    return scoreAllItems(this.nUsers, this.nItems, users, (u, i) => this.scorePairs(u, i));
  }

  exportSpec(): RankerExport {
    this.assertLive();
    return {
      kind: 'ranker',
      nUsers: this.nUsers,
      nItems: this.nItems,
      buildGraph: (g, userIndex, itemIndex) => {
        const slots = pairSlotsGraph(g, this.features, userIndex, itemIndex);
        return this.learner.buildGraph(g, slots.index, slots.value);
      },
      scorePairs: (users, items) => this.scorePairs(users, items),
    };
  }

  dispose(): void {
    this.disposed = true;
  }

  private assertLive(): void {
    if (this.disposed) throw new TastemakerError('DISPOSED', `${this.id} model was disposed`);
  }
}

/** A boolean hyper-parameter from options or `--set` ("true"/"false"/1/0). */
export function booleanOption(model: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === true || value === 'true' || value === 1 || value === '1') return true;
  if (value === false || value === 'false' || value === 0 || value === '0') return false;
  throw new TastemakerError('INVALID_CONFIG', `Invalid ${name} for ${model}: ${JSON.stringify(value)}. Valid values: true, false.`, { option: name, got: value, valid: ['true', 'false'] });
}

/** Catalogue sizes a model over `train` covers (id maps may list users/items without interactions). */
export function trainSizes(train: TrainSet): { nUsers: number; nItems: number } {
  return { nUsers: Math.max(train.dataset.users.size, train.csr.rows), nItems: Math.max(train.dataset.items.size, train.csr.cols) };
}

/**
 * Fits a typed-array slot model: slot layout from the data set's side features (`--set side=false`
 * for ids only), then the shared pointwise loop (labels, negatives, validation, early stopping).
 */
export async function fitSlotModel(
  id: ModelId,
  train: TrainSet,
  options: FitOptions,
  defaultEpochs: number,
  makeLearner: (features: CtrFeatures) => SlotLearner,
): Promise<SlotModel> {
  const side = booleanOption(id, 'side', options.extra?.side, true);
  const loop = pointwiseOptions(id, options, defaultEpochs);
  const { nUsers, nItems } = trainSizes(train);
  const features = buildCtrFeatures(train.dataset, nUsers, nItems, { sideFeatures: side });
  const model = new SlotModel(id, features, makeLearner(features));
  const result = await fitPointwise(id, model, train, loop, options.progress, options.log);
  model.info = {
    backend: 'typed-arrays',
    epochs: result.epochs,
    samplesPerSecond: result.samplesPerSecond,
    params: {
      ...model.learner.params,
      ...loop,
      side,
      fields: features.fields.map((f) => f.name),
      slots: slotCount(features),
      labelsUsed: result.labels,
      bestEpoch: result.bestEpoch,
      bestValidationAuc: result.bestValidationAuc,
      trainSeconds: Number(result.trainSeconds.toFixed(3)),
    },
  };
  return model;
}
