/**
 * The shell shared by the deep CTR models (Wide & Deep, DLRM): pooled field embeddings (JS rows,
 * SparseAdam), an optional wide part (linear + hashed crosses, per-example Adagrad), optional dense
 * per-user / per-item features, and a tfjs network the model defines. One training step gathers
 * the batch in JS, runs the network forward and backward once in tfjs (engine/dense gradientStep),
 * and applies the returned gradients w.r.t. the pooled embeddings and the wide logit to the sparse
 * parameters.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TastemakerError } from '@tastemaker/core';
import { DenseAdam, gradientStep } from '../../engine/dense.js';
import type { Rng } from '../../engine/rng.js';
import type { DenseLayer, RankerExport } from '../../export/types.js';
import type { GraphBuilder, Value } from '../../onnx/builder.js';
import { dense as denseLayerGraph } from '../../onnx/layers.js';
import type { HashedPairs } from '../linear/hashed-pairs.js';
import type { LinearPart } from '../linear/linear-part.js';
import type { FitOptions, ModelId, TrainedModel, TrainInfo, TrainSet } from '../types.js';
import { checkScoreBatch } from '../validation.js';
import { PAIR_CHUNK, scoreAllItems } from './ctr-model.js';
import { pairSlots, pairSlotsGraph, slotCount, type CtrFeatures } from './feature-fields.js';
import { EMBEDDING_OPTIMIZERS, type EmbeddingOptimizer, type FieldEmbeddings } from './field-embeddings.js';
import { fitPointwise, type PointwiseLearner, type PointwiseOptions } from './fit-loop.js';
import type { LabelledPairs } from './labelled-pairs.js';

export interface WidePart {
  linear: LinearPart;
  crosses: HashedPairs;
}

/** Per-user and per-item dense features (standardised); row nUsers is the unknown user (zeros = the mean). */
export interface DenseFeatures {
  userWidth: number;
  itemWidth: number;
  /** [(nUsers + 1), userWidth] */
  user: Float32Array;
  /** [nItems, itemWidth] */
  item: Float32Array;
  names: string[];
}

export interface DeepCtrParts {
  embeddings: FieldEmbeddings;
  wide?: WidePart;
  dense?: DenseFeatures;
}

interface Snapshot {
  arrays: Float32Array[];
  variables: Float32Array[];
}

/** [B, userWidth + itemWidth] rows of the dense features of pairs. */
export function densePairs(f: DenseFeatures, nUsers: number, users: Int32Array, items: Int32Array): Float32Array {
  const w = f.userWidth + f.itemWidth;
  const out = new Float32Array(users.length * w);
  for (let b = 0; b < users.length; b++) {
    let u = users[b] as number;
    if (!(u >= 0 && u < nUsers)) u = nUsers;
    const i = items[b] as number;
    out.set(f.user.subarray(u * f.userWidth, (u + 1) * f.userWidth), b * w);
    out.set(f.item.subarray(i * f.itemWidth, (i + 1) * f.itemWidth), b * w + f.userWidth);
  }
  return out;
}

/** An exported MLP in ONNX: the layers in order on x [batch, in]. */
export function mlpGraph(g: GraphBuilder, x: Value, layers: readonly DenseLayer[], prefix: string): Value {
  let h = x;
  layers.forEach((layer, k) => {
    h = denseLayerGraph(g, h, layer, `${prefix}.${k}`);
  });
  return h;
}

export abstract class DeepCtrModel implements TrainedModel, PointwiseLearner<Snapshot> {
  readonly nUsers: number;
  readonly nItems: number;
  info: TrainInfo;
  protected readonly K: number;
  private denseOpt: DenseAdam;
  private disposed = false;

  constructor(
    readonly id: ModelId,
    readonly features: CtrFeatures,
    readonly parts: DeepCtrParts,
    readonly batchSize: number,
    learningRate: number,
    backend: string,
  ) {
    this.nUsers = features.nUsers;
    this.nItems = features.nItems;
    this.K = slotCount(features);
    this.denseOpt = new DenseAdam({ learningRate });
    this.info = { backend, params: {} };
  }

  /** Deep logit [B, 1] from pooled field embeddings [B, fields · dim] and dense features [B, width]. */
  protected abstract network(pooled: tf.Tensor2D, dense: tf.Tensor2D | undefined): tf.Tensor2D;
  protected abstract networkVariables(): tf.Variable[];
  /** The same in ONNX; returns [batch, 1]. */
  protected abstract networkGraph(g: GraphBuilder, pooled: Value, dense: Value | undefined): Value;
  protected abstract disposeNetwork(): void;

  trainEpoch(pairs: LabelledPairs, _rng: Rng): number {
    const { K, parts } = this;
    const n = pairs.user.length;
    const B = this.batchSize;
    const idx = new Int32Array(B * K);
    const val = new Float32Array(B * K);
    const variables = this.networkVariables();
    let lossSum = 0;
    for (let s = 0; s < n; s += B) {
      const e = Math.min(n, s + B);
      const m = e - s;
      const users = pairs.user.subarray(s, e);
      const items = pairs.item.subarray(s, e);
      pairSlots(this.features, users, items, idx, val);
      const pooled = tf.tensor2d(parts.embeddings.pool(idx, val, m), [m, parts.embeddings.width]);
      const denseT = parts.dense ? tf.tensor2d(densePairs(parts.dense, this.nUsers, users, items), [m, parts.dense.userWidth + parts.dense.itemWidth]) : undefined;
      const wideT = parts.wide ? tf.tensor2d(this.wideLogits(idx, val, m), [m, 1]) : undefined;
      const labels = tf.tensor2d(pairs.label.subarray(s, e), [m, 1]);
      const inputs = wideT ? [pooled, wideT] : [pooled];
      let result;
      try {
        result = gradientStep({
          inputs,
          variables,
          optimizer: this.denseOpt,
          loss: ([p, w]) => {
            let z = this.network(p as tf.Tensor2D, denseT);
            if (w) z = tf.add(z, w);
            // log loss from logits: softplus(z) − y·z
            return tf.mean(tf.sub(tf.softplus(z), tf.mul(labels, z))) as tf.Scalar;
          },
        });
      } finally {
        tf.dispose([...inputs, labels, ...(denseT ? [denseT] : [])]);
      }
      parts.embeddings.backward(idx, val, m, result.inputGrads[0] as Float32Array);
      if (parts.wide) {
        const gw = result.inputGrads[1] as Float32Array;
        // the step's loss is a batch mean; the per-example Adagrad of the wide part wants each example's own dz
        for (let b = 0; b < m; b++) {
          const dz = (gw[b] as number) * m;
          parts.wide.linear.update(idx, val, b * K, dz);
          parts.wide.crosses.update(idx, val, b * K, dz);
        }
      }
      lossSum += result.loss * m;
    }
    return n > 0 ? lossSum / n : 0;
  }

  private wideLogits(idx: Int32Array, val: Float32Array, n: number): Float32Array {
    const wide = this.parts.wide as WidePart;
    const out = new Float32Array(n);
    for (let b = 0; b < n; b++) out[b] = wide.linear.logit(idx, val, b * this.K) + wide.crosses.logit(idx, val, b * this.K);
    return out;
  }

  scorePairs(users: Int32Array, items: Int32Array): Float32Array {
    this.assertLive();
    const { K, parts } = this;
    const n = users.length;
    const out = new Float32Array(n);
    const chunk = Math.min(n, PAIR_CHUNK);
    const idx = new Int32Array(chunk * K);
    const val = new Float32Array(chunk * K);
    for (let s = 0; s < n; s += PAIR_CHUNK) {
      const e = Math.min(n, s + PAIR_CHUNK);
      const m = e - s;
      const us = users.subarray(s, e);
      const is = items.subarray(s, e);
      pairSlots(this.features, us, is, idx, val);
      const pooled = parts.embeddings.pool(idx, val, m);
      const dense = parts.dense ? densePairs(parts.dense, this.nUsers, us, is) : undefined;
      const z = tf.tidy(() => {
        const d = dense && parts.dense ? tf.tensor2d(dense, [m, parts.dense.userWidth + parts.dense.itemWidth]) : undefined;
        return this.network(tf.tensor2d(pooled, [m, parts.embeddings.width]), d);
      });
      const zs = z.dataSync() as Float32Array;
      z.dispose();
      const wide = parts.wide ? this.wideLogits(idx, val, m) : undefined;
      for (let b = 0; b < m; b++) out[s + b] = (zs[b] as number) + (wide ? (wide[b] as number) : 0);
    }
    return out;
  }

  private sparseArrays(): Float32Array[] {
    const { parts } = this;
    return [parts.embeddings.table.values, ...(parts.wide ? [...parts.wide.linear.parameters(), parts.wide.crosses.weight] : [])];
  }

  capture(): Snapshot {
    return {
      arrays: this.sparseArrays().map((a) => a.slice()),
      variables: this.networkVariables().map((v) => Float32Array.from(v.dataSync() as Float32Array)),
    };
  }

  restore(state: Snapshot): void {
    this.sparseArrays().forEach((a, k) => a.set(state.arrays[k] as Float32Array));
    this.networkVariables().forEach((v, k) => {
      tf.tidy(() => v.assign(tf.tensor(state.variables[k] as Float32Array, v.shape)));
    });
  }

  async scoreBatch(users: Int32Array, histories: readonly Int32Array[]): Promise<Float32Array> {
    this.assertLive();
    checkScoreBatch(this.id, users, histories, this.nUsers, this.nItems);
    return scoreAllItems(this.nUsers, this.nItems, users, (u, i) => this.scorePairs(u, i));
  }

  exportSpec(): RankerExport {
    this.assertLive();
    const { parts } = this;
    return {
      kind: 'ranker',
      nUsers: this.nUsers,
      nItems: this.nItems,
      buildGraph: (g, userIndex, itemIndex) => {
        const slots = pairSlotsGraph(g, this.features, userIndex, itemIndex);
        const pooled = parts.embeddings.graph(g, slots.index, slots.value, `${this.id}.fields`);
        let denseIn: Value | undefined;
        if (parts.dense) {
          const f = parts.dense;
          const u = g.initializer(`${this.id}.user_dense`, f.user.slice(), [this.nUsers + 1, f.userWidth]);
          const i = g.initializer(`${this.id}.item_dense`, f.item.slice(), [this.nItems, f.itemWidth]);
          denseIn = g.op('Concat', [g.op('Gather', [u, userIndex], { axis: 0 }), g.op('Gather', [i, itemIndex], { axis: 0 })], { axis: 1 }, { name: `${this.id}.dense` });
        }
        const deep = g.op('Reshape', [this.networkGraph(g, pooled, denseIn), g.int64([-1])], {}, { name: `${this.id}.deep` });
        if (!parts.wide) return deep;
        const wide = g.op('Add', [parts.wide.linear.graph(g, slots.index, slots.value, `${this.id}.wide`), parts.wide.crosses.graph(g, slots.index, slots.value, `${this.id}.wide.crosses`)]);
        return g.op('Add', [deep, wide], {}, { name: `${this.id}.logit` });
      },
      scorePairs: (users, items) => this.scorePairs(users, items),
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.denseOpt.dispose();
    this.disposeNetwork();
  }

  protected assertLive(): void {
    if (this.disposed) throw new TastemakerError('DISPOSED', `${this.id} model was disposed`);
  }
}

/** The embedding optimiser from `--set embeddingOptimizer=adam|adagrad`. */
export function embeddingOptimizerOption(model: string, value: unknown, fallback: EmbeddingOptimizer): EmbeddingOptimizer {
  if (value === undefined) return fallback;
  if (value === 'adam' || value === 'adagrad') return value;
  throw new TastemakerError('INVALID_CONFIG', `Invalid embeddingOptimizer for ${model}: ${JSON.stringify(value)}. Valid values: ${EMBEDDING_OPTIMIZERS.join(', ')}.`, {
    option: 'embeddingOptimizer',
    got: value,
    valid: EMBEDDING_OPTIMIZERS,
  });
}

/** Hidden-layer widths from `--set key=64,32` ("none" or "" = no hidden layer). */
export function widthsOption(model: string, name: string, value: unknown, fallback: readonly number[]): number[] {
  if (value === undefined) return [...fallback];
  const s = String(value).trim();
  if (s === '' || s === 'none') return [];
  const out = s.split(/[,x ]+/).map(Number);
  if (out.some((n) => !Number.isInteger(n) || n <= 0)) {
    throw new TastemakerError('INVALID_CONFIG', `Invalid ${name} for ${model}: ${JSON.stringify(value)}. It must be a comma-separated list of positive widths, e.g. 64,32.`, { option: name, got: value });
  }
  return out;
}

/** Fits a deep CTR model built by `build` with the shared pointwise loop and fills in its TrainInfo. */
export async function fitDeepCtr(model: DeepCtrModel, train: TrainSet, loop: PointwiseOptions, options: FitOptions, params: Record<string, unknown>): Promise<DeepCtrModel> {
  try {
    const result = await fitPointwise(model.id, model, train, loop, options.progress, options.log);
    model.info = {
      backend: model.info.backend,
      epochs: result.epochs,
      samplesPerSecond: result.samplesPerSecond,
      params: {
        ...params,
        ...loop,
        fields: model.features.fields.map((f) => f.name),
        slots: slotCount(model.features),
        labelsUsed: result.labels,
        bestEpoch: result.bestEpoch,
        bestValidationAuc: result.bestValidationAuc,
        trainSeconds: Number(result.trainSeconds.toFixed(3)),
      },
    };
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}
