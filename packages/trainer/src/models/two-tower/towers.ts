/**
 * The two towers' parameters and their forward passes at inference time (the training step lives in
 * trainer.ts). The user tower's input layout is the export contract's (export/types.ts
 * TwoTowerExport): [user-id embedding | history mean | user features], zeros for what is unknown.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Dataset, FeatureMatrix } from '../../data/dataset.js';
import { Mlp, type DenseSpec } from '../../engine/dense.js';
import { EmbeddingTable } from '../../engine/embedding-table.js';
import type { Rng } from '../../engine/rng.js';
import type { TwoTowerParams } from './params.js';

/**
 * Column-standardised copy of a feature matrix (z-scores; constant columns only centred). Done
 * once so that unknown users' all-zero features mean "average user", and exported as is so the
 * serving graph sees exactly what training saw.
 */
export function standardise(f: FeatureMatrix | undefined, rows: number): FeatureMatrix | undefined {
  if (f === undefined || f.names.length === 0) return undefined;
  const c = f.names.length;
  if (f.values.length !== rows * c) return undefined;
  const out = new Float32Array(rows * c);
  for (let j = 0; j < c; j++) {
    let mean = 0;
    for (let r = 0; r < rows; r++) mean += f.values[r * c + j] as number;
    mean /= Math.max(rows, 1);
    let v = 0;
    for (let r = 0; r < rows; r++) v += ((f.values[r * c + j] as number) - mean) ** 2;
    const sd = Math.sqrt(v / Math.max(rows, 1));
    const scale = sd > 1e-8 ? 1 / sd : 1;
    for (let r = 0; r < rows; r++) out[r * c + j] = ((f.values[r * c + j] as number) - mean) * scale;
  }
  return { names: [...f.names], values: out };
}

/** Everything both training and inference need. */
export interface Towers {
  nUsers: number;
  nItems: number;
  params: TwoTowerParams;
  userTable: EmbeddingTable;
  historyTable: EmbeddingTable;
  itemTable: EmbeddingTable;
  userFeatures: FeatureMatrix | undefined;
  itemFeatures: FeatureMatrix | undefined;
  userMlp: Mlp;
  itemMlp: Mlp;
}

/** Fresh towers for `dataset`'s users and items, initialised from `rng`. */
export function createTowers(dataset: Dataset, nUsers: number, nItems: number, p: TwoTowerParams, rng: Rng): Towers {
  const init = { kind: 'normal', std: 0.05 } as const;
  const userTable = new EmbeddingTable(nUsers, p.userIdDim, rng, init);
  const itemTable = new EmbeddingTable(nItems, p.dim, rng, init);
  const historyTable = p.shareItemEmbeddings ? itemTable : new EmbeddingTable(nItems, p.dim, rng, init);
  const userFeatures = standardise(dataset.userFeatures, nUsers);
  const itemFeatures = standardise(dataset.itemFeatures, nItems);
  const specs = (hidden: number[]): DenseSpec[] => [...hidden.map((units) => ({ units, activation: p.activation })), { units: p.dim, activation: 'linear' }];
  const userMlp = new Mlp(p.userIdDim + p.dim + (userFeatures?.names.length ?? 0), specs(p.userHidden), rng);
  const itemMlp = new Mlp(p.dim + (itemFeatures?.names.length ?? 0), specs(p.itemHidden), rng);
  return { nUsers, nItems, params: p, userTable, historyTable, itemTable, userFeatures, itemFeatures, userMlp, itemMlp };
}

export function disposeTowers(t: Towers): void {
  t.userMlp.dispose();
  t.itemMlp.dispose();
}

export function l2NormalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), 1, true)), 1e-12)));
}

function userInputWidth(t: Towers): number {
  return t.userTable.dim + t.historyTable.dim + (t.userFeatures?.names.length ?? 0);
}

/** Copies rows of `f` (zeros for out-of-range indices) into `out` at column `col0` of a `width`-wide matrix. */
export function fillFeatures(f: FeatureMatrix | undefined, indices: Int32Array, rows: number, out: Float32Array, width: number, col0: number): void {
  if (f === undefined) return;
  const c = f.names.length;
  for (let b = 0; b < indices.length; b++) {
    const r = indices[b] as number;
    if (r < 0 || r >= rows) continue;
    out.set(f.values.subarray(r * c, r * c + c), b * width + col0);
  }
}

/** Inference-time user tower input: the history mean is over the whole given history. */
function userTowerInput(t: Towers, users: Int32Array, histories: readonly Int32Array[]): Float32Array {
  const dU = t.userTable.dim;
  const dH = t.historyTable.dim;
  const width = userInputWidth(t);
  const x = new Float32Array(users.length * width);
  const h = t.historyTable.values;
  for (let b = 0; b < users.length; b++) {
    const u = users[b] as number;
    if (u >= 0 && u < t.nUsers) x.set(t.userTable.values.subarray(u * dU, u * dU + dU), b * width);
    const hist = histories[b];
    if (hist === undefined || hist.length === 0) continue;
    const base = b * width + dU;
    let n = 0;
    for (let j = 0; j < hist.length; j++) {
      const i = hist[j] as number;
      // Ids the tables do not know carry no embedding; the bundle's id maps drop them the same way.
      if (i < 0 || i >= t.nItems) continue;
      n++;
      for (let k = 0; k < dH; k++) x[base + k] = (x[base + k] as number) + (h[i * dH + k] as number);
    }
    if (n > 0) for (let k = 0; k < dH; k++) x[base + k] = (x[base + k] as number) / n;
  }
  fillFeatures(t.userFeatures, users, t.nUsers, x, width, dU + dH);
  return x;
}

function itemTowerInput(t: Towers, items: Int32Array): Float32Array {
  const d = t.itemTable.dim;
  const f = t.itemFeatures?.names.length ?? 0;
  const width = d + f;
  if (f === 0) return t.itemTable.gather(items);
  const x = new Float32Array(items.length * width);
  for (let b = 0; b < items.length; b++) {
    const i = items[b] as number;
    if (i >= 0 && i < t.nItems) x.set(t.itemTable.values.subarray(i * d, i * d + d), b * width);
  }
  fillFeatures(t.itemFeatures, items, t.nItems, x, width, d);
  return x;
}

export function itemFeatureTensor(t: Towers, items: Int32Array): tf.Tensor2D | undefined {
  if (t.itemFeatures === undefined) return undefined;
  const c = t.itemFeatures.names.length;
  const out = new Float32Array(items.length * c);
  fillFeatures(t.itemFeatures, items, t.nItems, out, c, 0);
  return tf.tensor2d(out, [items.length, c]);
}

const CHUNK = 2048;

/** User vectors [users.length, dim]; the history mean is over each whole given history. */
export function runUserTower(t: Towers, users: Int32Array, histories: readonly Int32Array[]): Float32Array {
  const width = userInputWidth(t);
  const dim = t.userMlp.outputDim;
  const out = new Float32Array(users.length * dim);
  for (let s = 0; s < users.length; s += CHUNK) {
    const e = Math.min(users.length, s + CHUNK);
    const x = userTowerInput(t, users.subarray(s, e), histories.slice(s, e));
    const y = tf.tidy(() => {
      const h = t.userMlp.apply(tf.tensor2d(x, [e - s, width]));
      return t.params.l2Normalize ? l2NormalizeRows(h) : h;
    });
    out.set(y.dataSync() as Float32Array, s * dim);
    y.dispose();
  }
  return out;
}

/** Item vectors for every item, [nItems, dim]. */
export function runItemTower(t: Towers): Float32Array {
  const dim = t.itemMlp.outputDim;
  const width = t.itemMlp.inputDim;
  const out = new Float32Array(t.nItems * dim);
  for (let s = 0; s < t.nItems; s += CHUNK) {
    const e = Math.min(t.nItems, s + CHUNK);
    const idx = Int32Array.from({ length: e - s }, (_, k) => s + k);
    const x = itemTowerInput(t, idx);
    const y = tf.tidy(() => {
      const h = t.itemMlp.apply(tf.tensor2d(x, [e - s, width]));
      return t.params.l2Normalize ? l2NormalizeRows(h) : h;
    });
    out.set(y.dataSync() as Float32Array, s * dim);
    y.dispose();
  }
  return out;
}
