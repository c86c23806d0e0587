/**
 * Embedding tables kept outside TensorFlow.js, with sparse row-wise optimisers.
 *
 * Large recommenders (TorchRec, HugeCTR) store embeddings as plain row arrays: a step touches a
 * few hundred rows out of many thousands, so only those rows are gathered into the dense graph and
 * only those rows are updated. Doing the lookup inside tfjs instead would need tf.gather's gradient,
 * which materialises a dense [rows, dim] gradient every step (slow) and whose scatter kernel the
 * wasm backend lacks. Here tfjs sees the gathered batch as an ordinary input tensor, hands back
 * the gradient w.r.t. that input, and these optimisers apply it row by row.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from './rng.js';

export type EmbeddingInit =
  | { kind: 'normal'; std: number }
  | { kind: 'uniform'; scale: number }
  /** uniform(±sqrt(6 / (rows + dim))), as Keras' glorot_uniform for an embedding matrix */
  | { kind: 'xavier' }
  | { kind: 'zeros' };

export class EmbeddingTable {
  readonly rows: number;
  readonly dim: number;
  /** row-major [rows, dim]; row r is values[r*dim .. (r+1)*dim) */
  readonly values: Float32Array;

  /**
   * A table of `rows` x `dim`, either initialised from `source` (a seeded Rng) with `init`, or
   * wrapping existing row-major `source` values (not copied).
   */
  constructor(rows: number, dim: number, source: Rng | Float32Array, init: EmbeddingInit = { kind: 'normal', std: 0.05 }) {
    // dim 0 is allowed: a model may switch an embedding off and still export a (zero-width) table.
    if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(dim) || dim < 0) {
      throw new RangeError(`EmbeddingTable needs integer rows >= 0 and dim >= 0, got ${rows}x${dim}`);
    }
    this.rows = rows;
    this.dim = dim;
    if (source instanceof Float32Array) {
      if (source.length !== rows * dim) throw new RangeError(`expected ${rows * dim} values, got ${source.length}`);
      this.values = source;
      return;
    }
    const rng = source;
    this.values = new Float32Array(rows * dim);
    const v = this.values;
    switch (init.kind) {
      case 'normal':
        for (let i = 0; i < v.length; i++) v[i] = rng.normal() * init.std;
        break;
      case 'uniform':
        for (let i = 0; i < v.length; i++) v[i] = (2 * rng.next() - 1) * init.scale;
        break;
      case 'xavier': {
        const limit = Math.sqrt(6 / (rows + dim));
        for (let i = 0; i < v.length; i++) v[i] = (2 * rng.next() - 1) * limit;
        break;
      }
      case 'zeros':
        break;
    }
  }

  /** A view (not a copy) of row r. */
  row(r: number): Float32Array {
    return this.values.subarray(r * this.dim, (r + 1) * this.dim);
  }

  /**
   * Rows `indices` stacked, [indices.length, dim]. An index outside [0, rows), such as -1 for an
   * unknown user, gives a zero row, which is what the exported graphs do for unknown ids.
   */
  gather(indices: Int32Array, out?: Float32Array): Float32Array {
    const d = this.dim;
    const res = out ?? new Float32Array(indices.length * d);
    if (res.length < indices.length * d) throw new RangeError('gather: output buffer too small');
    for (let b = 0; b < indices.length; b++) {
      const r = indices[b] as number;
      if (r >= 0 && r < this.rows) res.set(this.values.subarray(r * d, r * d + d), b * d);
      else res.fill(0, b * d, b * d + d);
    }
    return res;
  }

  /** `gather` as a [indices.length, dim] tensor the caller owns (and disposes). */
  gatherTensor(indices: Int32Array): tf.Tensor2D {
    return tf.tensor2d(this.gather(indices), [indices.length, this.dim], 'float32');
  }
}

/**
 * Sums per-row gradients so that each distinct row is updated once per step; duplicate indices
 * (the same item twice in a batch, or an item both as a target and in a history) accumulate,
 * which is what the gradient of a gather is. Reusable across steps without reallocating.
 */
export class RowGradientAccumulator {
  readonly rows: number;
  readonly dim: number;
  /** row → slot in the compact buffers, or -1 when the row has no gradient this step */
  private readonly slotOf: Int32Array;
  private touched: Int32Array;
  private grads: Float32Array;
  private count = 0;

  constructor(rows: number, dim: number) {
    this.rows = rows;
    this.dim = dim;
    this.slotOf = new Int32Array(rows).fill(-1);
    this.touched = new Int32Array(64);
    this.grads = new Float32Array(64 * dim);
  }

  /** Adds `scale * grad[offset .. offset+dim)` to row r's gradient; rows outside [0, rows) are ignored. */
  add(r: number, grad: ArrayLike<number>, offset = 0, scale = 1): void {
    if (r < 0 || r >= this.rows) return;
    const d = this.dim;
    const base = this.slotFor(r) * d;
    const g = this.grads;
    if (scale === 1) for (let k = 0; k < d; k++) g[base + k] = (g[base + k] as number) + (grad[offset + k] as number);
    else for (let k = 0; k < d; k++) g[base + k] = (g[base + k] as number) + scale * (grad[offset + k] as number);
  }

  /** Adds grads [indices.length, dim] for rows `indices` (duplicates accumulate). */
  addRows(indices: Int32Array, grads: Float32Array, scale = 1): void {
    for (let b = 0; b < indices.length; b++) this.add(indices[b] as number, grads, b * this.dim, scale);
  }

  /** The compact result: distinct rows in first-touched order and their summed gradients. */
  view(): { indices: Int32Array; grads: Float32Array } {
    return { indices: this.touched.subarray(0, this.count), grads: this.grads.subarray(0, this.count * this.dim) };
  }

  clear(): void {
    for (let s = 0; s < this.count; s++) this.slotOf[this.touched[s] as number] = -1;
    this.grads.fill(0, 0, this.count * this.dim);
    this.count = 0;
  }

  private slotFor(r: number): number {
    let s = this.slotOf[r] as number;
    if (s >= 0) return s;
    s = this.count++;
    if (s >= this.touched.length) {
      const cap = Math.min(Math.max(this.touched.length * 2, 64), Math.max(this.rows, 1));
      const t = new Int32Array(cap);
      t.set(this.touched);
      this.touched = t;
      const g = new Float32Array(cap * this.dim);
      g.set(this.grads);
      this.grads = g;
    }
    this.touched[s] = r;
    this.slotOf[r] = s;
    return s;
  }
}

export interface SparseOptimizer {
  readonly table: EmbeddingTable;
  /**
   * One optimiser step from the gradient w.r.t. the gathered rows: `grads` is [indices.length, dim],
   * duplicate indices accumulate, indices outside the table are ignored.
   */
  update(indices: Int32Array, grads: Float32Array): void;
  /** Like `update`, from already-summed rows (e.g. a RowGradientAccumulator's view). */
  updateDistinct(indices: Int32Array, grads: Float32Array): void;
}

export interface SparseAdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** L2 penalty `l2/2 * |w|²` on the rows a step touches (only those: lazy, like the moments) */
  l2?: number;
}

abstract class SparseOptimizerBase implements SparseOptimizer {
  readonly table: EmbeddingTable;
  private readonly acc: RowGradientAccumulator;

  constructor(table: EmbeddingTable) {
    this.table = table;
    this.acc = new RowGradientAccumulator(table.rows, table.dim);
  }

  update(indices: Int32Array, grads: Float32Array): void {
    if (grads.length !== indices.length * this.table.dim) {
      throw new RangeError(`expected ${indices.length * this.table.dim} gradient values, got ${grads.length}`);
    }
    this.acc.addRows(indices, grads);
    const { indices: rows, grads: summed } = this.acc.view();
    this.updateDistinct(rows, summed);
    this.acc.clear();
  }

  updateDistinct(indices: Int32Array, grads: Float32Array): void {
    const d = this.table.dim;
    for (let s = 0; s < indices.length; s++) {
      const r = indices[s] as number;
      if (r < 0 || r >= this.table.rows) continue;
      this.updateRow(r, grads, s * d);
    }
  }

  protected abstract updateRow(r: number, grads: Float32Array, offset: number): void;
}

/**
 * Lazy Adam (TensorFlow's LazyAdamOptimizer, PyTorch's SparseAdam): moments and the step count
 * used for bias correction are per row and advance only when the row gets a gradient, so a rare
 * item's first update is as large as a popular one's instead of being damped by a global step.
 */
export class SparseAdam extends SparseOptimizerBase {
  /** mutable so a schedule (e.g. a cut on a validation plateau) can lower it mid-training */
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly l2: number;
  /** first and second moments, [rows, dim] */
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** updates each row has had */
  readonly steps: Int32Array;

  constructor(table: EmbeddingTable, options: SparseAdamOptions) {
    super(table);
    this.learningRate = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.l2 = options.l2 ?? 0;
    this.m = new Float32Array(table.values.length);
    this.v = new Float32Array(table.values.length);
    this.steps = new Int32Array(table.rows);
  }

  protected updateRow(r: number, grads: Float32Array, offset: number): void {
    const d = this.table.dim;
    const w = this.table.values;
    const { m, v, beta1, beta2, epsilon, l2 } = this;
    const t = (this.steps[r] as number) + 1;
    this.steps[r] = t;
    const c1 = 1 - Math.pow(beta1, t);
    const c2 = 1 - Math.pow(beta2, t);
    const lr = this.learningRate;
    const base = r * d;
    for (let k = 0; k < d; k++) {
      const i = base + k;
      const g = (grads[offset + k] as number) + l2 * (w[i] as number);
      const mi = beta1 * (m[i] as number) + (1 - beta1) * g;
      const vi = beta2 * (v[i] as number) + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      w[i] = (w[i] as number) - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + epsilon);
    }
  }
}

export interface SparseAdagradOptions {
  learningRate: number;
  /** starting value of the squared-gradient sums (TensorFlow's default 0.1 keeps first steps finite) */
  initialAccumulator?: number;
  epsilon?: number;
  /** L2 penalty `l2/2 * |w|²` on the rows a step touches */
  l2?: number;
}

/** Adagrad with per-element squared-gradient sums; naturally sparse since untouched rows keep theirs. */
export class SparseAdagrad extends SparseOptimizerBase {
  readonly learningRate: number;
  readonly epsilon: number;
  readonly l2: number;
  /** sum of squared gradients, [rows, dim] */
  readonly accumulator: Float32Array;

  constructor(table: EmbeddingTable, options: SparseAdagradOptions) {
    super(table);
    this.learningRate = options.learningRate;
    this.epsilon = options.epsilon ?? 1e-10;
    this.l2 = options.l2 ?? 0;
    this.accumulator = new Float32Array(table.values.length).fill(options.initialAccumulator ?? 0.1);
  }

  protected updateRow(r: number, grads: Float32Array, offset: number): void {
    const d = this.table.dim;
    const w = this.table.values;
    const acc = this.accumulator;
    const { l2, epsilon, learningRate: lr } = this;
    const base = r * d;
    for (let k = 0; k < d; k++) {
      const i = base + k;
      const g = (grads[offset + k] as number) + l2 * (w[i] as number);
      const a = (acc[i] as number) + g * g;
      acc[i] = a;
      w[i] = (w[i] as number) - (lr * g) / (Math.sqrt(a) + epsilon);
    }
  }
}
