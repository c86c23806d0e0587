import { TastemakerError } from '@tastemaker/core';
import type { Interactions } from '../data/dataset.js';
import { Rng } from '../engine/rng.js';

/**
 * Rating matrix factorisation (Funk-SVD / biased PMF): r̂(u, i) = μ + b_u + b_i + P[u]·Q[i], fitted
 * by SGD on the squared error of every observed rating with L2 on the touched parameters. DRR's
 * paper pre-trains its embeddings with PMF; here it is also the MF simulator's rating model and the
 * mf-greedy baseline. Written by hand because it is a few lines of typed-array SGD (no library
 * in the dependency tree fits explicit ratings).
 */

export interface PmfParams {
  dim: number;
  epochs: number;
  learningRate: number;
  l2: number;
  /** standard deviation of the initial factors */
  initStd: number;
  /** per-epoch multiplicative learning-rate decay */
  decay: number;
}

export const PMF_DEFAULTS: PmfParams = { dim: 32, epochs: 25, learningRate: 0.01, l2: 0.05, initStd: 0.1, decay: 0.96 };

export interface PmfFactors {
  dim: number;
  nUsers: number;
  nItems: number;
  globalMean: number;
  userBias: Float32Array;
  itemBias: Float32Array;
  /** [nUsers, dim] */
  userFactors: Float32Array;
  /** [nItems, dim] */
  itemFactors: Float32Array;
  /** training RMSE after each epoch */
  rmse: number[];
}

export function trainPmf(x: Interactions, nUsers: number, nItems: number, params: PmfParams, seed: number): PmfFactors {
  const { dim, epochs, l2, initStd, decay } = params;
  const n = x.user.length;
  if (n === 0) throw new TastemakerError('INVALID_ARGUMENT', 'PMF needs at least one rating');
  let mean = 0;
  for (let r = 0; r < n; r++) mean += x.value[r]!;
  mean /= n;
  const rng = new Rng(seed);
  const P = new Float32Array(nUsers * dim);
  const Q = new Float32Array(nItems * dim);
  for (let k = 0; k < P.length; k++) P[k] = rng.normal() * initStd;
  for (let k = 0; k < Q.length; k++) Q[k] = rng.normal() * initStd;
  const bu = new Float32Array(nUsers);
  const bi = new Float32Array(nItems);
  const order = Int32Array.from({ length: n }, (_, r) => r);
  const rmse: number[] = [];
  let lr = params.learningRate;
  for (let epoch = 0; epoch < epochs; epoch++) {
    rng.shuffle(order);
    let sq = 0;
    for (let t = 0; t < n; t++) {
      const r = order[t]!;
      const u = x.user[r]!;
      const i = x.item[r]!;
      const pu = u * dim;
      const qi = i * dim;
      let pred = mean + bu[u]! + bi[i]!;
      for (let k = 0; k < dim; k++) pred += P[pu + k]! * Q[qi + k]!;
      const err = x.value[r]! - pred;
      sq += err * err;
      bu[u] = bu[u]! + lr * (err - l2 * bu[u]!);
      bi[i] = bi[i]! + lr * (err - l2 * bi[i]!);
      for (let k = 0; k < dim; k++) {
        const p = P[pu + k]!;
        const q = Q[qi + k]!;
        P[pu + k] = p + lr * (err * q - l2 * p);
        Q[qi + k] = q + lr * (err * p - l2 * q);
      }
    }
    rmse.push(Math.sqrt(sq / n));
    lr *= decay;
  }
  return { dim, nUsers, nItems, globalMean: mean, userBias: bu, itemBias: bi, userFactors: P, itemFactors: Q, rmse };
}

/** Predicted rating of `item` for `user` (unclipped); a user index outside the table gets the bias-only prediction. */
export function pmfPredict(f: PmfFactors, user: number, item: number): number {
  let s = f.globalMean + f.itemBias[item]!;
  if (user >= 0 && user < f.nUsers) {
    s += f.userBias[user]!;
    const pu = user * f.dim;
    const qi = item * f.dim;
    for (let k = 0; k < f.dim; k++) s += f.userFactors[pu + k]! * f.itemFactors[qi + k]!;
  }
  return s;
}

/** Every item's predicted rating for `user`, into `out` (length nItems). */
export function pmfPredictAll(f: PmfFactors, user: number, out: Float32Array): Float32Array {
  for (let i = 0; i < f.nItems; i++) out[i] = pmfPredict(f, user, i);
  return out;
}
