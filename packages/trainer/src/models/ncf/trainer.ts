/**
 * Pointwise training of an NCF network: each epoch draws fresh negatives (NegativeSampler, `ratio`
 * per positive), shuffles, and takes log-loss steps on large batches. GMF runs entirely on typed
 * arrays (its forward is one multiply-add per factor); MLP and NeuMF send the gathered rows through
 * the tfjs tower (engine gradientStep) and get the rows' gradients back for the lazy-Adam tables.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Csr } from '../../data/dataset.js';
import { DenseAdam, gradientStep } from '../../engine/dense.js';
import { SparseAdam } from '../../engine/embedding-table.js';
import { matMul } from '../../engine/gradients.js';
import type { Rng } from '../../engine/rng.js';
import { EarlyStopping, NegativeSampler, shufflePairs } from '../pointwise/index.js';
import type { ProgressSink } from '../types.js';
import { type NcfNetwork, type NetworkState, captureNetwork, gatherInto, outputWidth, restoreNetwork, scorePairs } from './network.js';
import type { NcfParams } from './params.js';
import { type LooValidation, validationMetrics, validationPairs } from './validation.js';

export interface EpochRecord {
  epoch: number;
  loss: number;
  seconds: number;
  'ndcg@10'?: number;
  'hr@10'?: number;
}

export interface StageResult {
  epochs: EpochRecord[];
  /** the epoch whose parameters the network holds (the best on validation, else the last) */
  bestEpoch: number;
  /** epochs after which the learning rates were cut (`plateauDecay`) */
  decayedAfter: number[];
  samples: number;
  seconds: number;
}

export interface StageData {
  /** positives the stage trains on */
  train: Csr;
  /** every known positive, never drawn as a negative */
  exclude: Csr;
  validation: LooValidation | undefined;
}

export interface StageHooks {
  label: string;
  progress: ProgressSink;
  log: (message: string) => void;
  /** learning-rate factor for this stage (NeuMF after pre-training starts gentler) */
  learningRateFactor?: number;
  /**
   * Score the starting parameters as epoch 0, so a stage that starts from pre-trained weights can
   * only keep or improve them.
   */
  validateInitial?: boolean;
  /**
   * Replaying a schedule without validation: cut the learning rates by `plateauDecay` after these
   * epochs, where the validated run cut them.
   */
  decayAfter?: readonly number[];
}

class Optimizers {
  readonly gmfUser?: SparseAdam;
  readonly gmfItem?: SparseAdam;
  readonly mlpUser?: SparseAdam;
  readonly mlpItem?: SparseAdam;
  readonly out: SparseAdam;
  readonly dense?: DenseAdam;

  constructor(net: NcfNetwork, p: NcfParams, factor: number) {
    const sparse = { learningRate: p.embeddingLearningRate * factor, l2: p.l2 };
    if (net.gmf) {
      this.gmfUser = new SparseAdam(net.gmf.user, sparse);
      this.gmfItem = new SparseAdam(net.gmf.item, sparse);
    }
    if (net.mlp) {
      this.mlpUser = new SparseAdam(net.mlp.user, sparse);
      this.mlpItem = new SparseAdam(net.mlp.item, sparse);
      this.dense = new DenseAdam({ learningRate: p.learningRate * factor });
    }
    this.out = new SparseAdam(net.out, { learningRate: p.learningRate * factor });
  }

  /** Multiplies every learning rate by `factor`; Adam's moments are kept. */
  scale(factor: number): void {
    for (const o of [this.gmfUser, this.gmfItem, this.mlpUser, this.mlpItem, this.out, this.dense]) {
      if (o) o.learningRate *= factor;
    }
  }

  dispose(): void {
    this.dense?.dispose();
  }
}

const OUT_ROW = Int32Array.of(0);

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** Buffers reused across steps (a batch's gathered rows and row gradients). */
interface Scratch {
  gu: Float32Array;
  gi: Float32Array;
  x: Float32Array;
  mu: Float32Array;
  mi: Float32Array;
}

/** One GMF step on typed arrays; returns the batch's mean log loss. */
function gmfStep(net: NcfNetwork, opt: Optimizers, users: Int32Array, items: Int32Array, labels: Float32Array, scratch: Scratch): number {
  const gmf = net.gmf;
  if (!gmf || !opt.gmfUser || !opt.gmfItem) throw new Error('gmfStep needs the GMF part');
  const f = gmf.user.dim;
  const B = users.length;
  const P = gmf.user.values;
  const Q = gmf.item.values;
  const h = net.out.values;
  const gh = new Float32Array(f + 1);
  const gu = scratch.gu.subarray(0, B * f);
  const gi = scratch.gi.subarray(0, B * f);
  let loss = 0;
  for (let k = 0; k < B; k++) {
    const pu = (users[k] as number) * f;
    const qi = (items[k] as number) * f;
    let z = h[f] as number;
    for (let j = 0; j < f; j++) z += (h[j] as number) * (P[pu + j] as number) * (Q[qi + j] as number);
    const y = labels[k] as number;
    loss += softplus(z) - z * y;
    // d loss / d z of the mean log loss: (σ(z) − y) / B
    const g = (1 / (1 + Math.exp(-z)) - y) / B;
    const o = k * f;
    for (let j = 0; j < f; j++) {
      const p = P[pu + j] as number;
      const q = Q[qi + j] as number;
      const hj = h[j] as number;
      gh[j] = (gh[j] as number) + g * p * q;
      gu[o + j] = g * hj * q;
      gi[o + j] = g * hj * p;
    }
    gh[f] = (gh[f] as number) + g;
  }
  opt.gmfUser.update(users, gu);
  opt.gmfItem.update(items, gi);
  opt.out.update(OUT_ROW, gh);
  return loss / B;
}

/** One MLP / NeuMF step through tfjs; returns the batch's mean log loss. */
function towerStep(net: NcfNetwork, opt: Optimizers, users: Int32Array, items: Int32Array, labels: Float32Array, scratch: Scratch): number {
  const mlp = net.mlp;
  if (!mlp || !opt.dense || !opt.mlpUser || !opt.mlpItem) throw new Error('towerStep needs the MLP part');
  const B = users.length;
  const width = outputWidth(net);
  const du = mlp.user.dim;
  const di = mlp.item.dim;
  const xv = scratch.x.subarray(0, B * (du + di));
  gatherInto(mlp.user, users, xv, du + di, 0);
  gatherInto(mlp.item, items, xv, du + di, du);
  const x = tf.tensor2d(xv, [B, du + di]);
  const hw = tf.tensor2d(net.out.values.subarray(0, width), [width, 1]);
  const hb = tf.tensor1d(net.out.values.subarray(width, width + 1));
  const gmf = net.gmf;
  const f = gmf?.user.dim ?? 0;
  let gu: tf.Tensor2D | undefined;
  let gi: tf.Tensor2D | undefined;
  if (gmf) {
    const pu = scratch.gu.subarray(0, B * f);
    const qi = scratch.gi.subarray(0, B * f);
    gatherInto(gmf.user, users, pu, f, 0);
    gatherInto(gmf.item, items, qi, f, 0);
    gu = tf.tensor2d(pu, [B, f]);
    gi = tf.tensor2d(qi, [B, f]);
  }
  const y = tf.tensor1d(labels);
  const inputs: tf.Tensor[] = gu && gi ? [x, hw, hb, gu, gi] : [x, hw, hb];
  let result;
  try {
    result = gradientStep({
      inputs,
      variables: mlp.tower.variables(),
      optimizer: opt.dense,
      loss: ([xi, hwi, hbi, gui, gii]) => {
        let phi = mlp.tower.apply(xi as tf.Tensor2D);
        if (gui && gii) phi = tf.concat([tf.mul(gui, gii) as tf.Tensor2D, phi], 1);
        const z = tf.reshape(tf.add(matMul(phi, hwi as tf.Tensor), hbi as tf.Tensor), [B]);
        return tf.mean(tf.sub(tf.softplus(z), tf.mul(z, y))) as tf.Scalar;
      },
    });
  } finally {
    tf.dispose([...inputs, y]);
  }
  const [gx, ghw, ghb, ggu, ggi] = result.inputGrads as [Float32Array, Float32Array, Float32Array, Float32Array?, Float32Array?];
  // Split d loss / d concat(p_u, q_i) back into the two tables' rows.
  const gUser = scratch.mu.subarray(0, B * du);
  const gItem = scratch.mi.subarray(0, B * di);
  for (let b = 0; b < B; b++) {
    gUser.set(gx.subarray(b * (du + di), b * (du + di) + du), b * du);
    gItem.set(gx.subarray(b * (du + di) + du, (b + 1) * (du + di)), b * di);
  }
  opt.mlpUser.update(users, gUser);
  opt.mlpItem.update(items, gItem);
  if (ggu && ggi && opt.gmfUser && opt.gmfItem) {
    opt.gmfUser.update(users, ggu);
    opt.gmfItem.update(items, ggi);
  }
  const gOut = new Float32Array(width + 1);
  gOut.set(ghw);
  gOut[width] = ghb[0] as number;
  opt.out.update(OUT_ROW, gOut);
  return result.loss;
}

/** NDCG@10 and HR@10 on the validation lists. */
export function validate(net: NcfNetwork, validation: LooValidation): { hr: number; ndcg: number } {
  const { users, items } = validationPairs(validation);
  return validationMetrics(validation, scorePairs(net, users, items));
}

/**
 * Trains `net` for up to p.epochs epochs, stopping early on validation NDCG@10 (restoring the best
 * epoch's parameters) when a validation set is given.
 */
export async function trainStage(net: NcfNetwork, data: StageData, p: NcfParams, rng: Rng, hooks: StageHooks): Promise<StageResult> {
  const sampler = new NegativeSampler(data.train, { ratio: p.negatives, exclude: data.exclude });
  const opt = new Optimizers(net, p, hooks.learningRateFactor ?? 1);
  const stopper = data.validation
    ? new EarlyStopping<NetworkState>({ patience: p.patience, mode: 'max', capture: () => captureNetwork(net), restore: (s) => restoreNetwork(net, s) })
    : undefined;
  const positives = data.train.indptr[data.train.rows] as number;
  const perEpoch = Math.round(positives * (1 + p.negatives));
  const steps = Math.ceil(perEpoch / p.batchSize);
  const epochs: EpochRecord[] = [];
  const scratch: Scratch = {
    gu: new Float32Array(p.batchSize * p.gmfDim),
    gi: new Float32Array(p.batchSize * p.gmfDim),
    x: new Float32Array(p.batchSize * (p.mlpLayers[0] ?? 0)),
    mu: new Float32Array(p.batchSize * ((p.mlpLayers[0] ?? 0) / 2)),
    mi: new Float32Array(p.batchSize * ((p.mlpLayers[0] ?? 0) / 2)),
  };
  const t0 = performance.now();
  let samples = 0;
  const decayedAfter: number[] = [];
  hooks.progress.start(hooks.label, p.epochs * steps);
  let done = 0;
  if (hooks.validateInitial && data.validation && stopper) {
    const m = validate(net, data.validation);
    stopper.observe(0, m.ndcg);
    epochs.push({ epoch: 0, loss: Number.NaN, seconds: 0, 'ndcg@10': m.ndcg, 'hr@10': m.hr });
    hooks.log(`${hooks.label} start val ndcg@10 ${m.ndcg.toFixed(4)} hr@10 ${m.hr.toFixed(4)}`);
  }
  try {
    for (let epoch = 1; epoch <= p.epochs; epoch++) {
      const e0 = performance.now();
      const pairs = shufflePairs(sampler.sample(rng), rng);
      const n = pairs.user.length;
      let lossSum = 0;
      for (let s = 0; s < n; s += p.batchSize) {
        const e = Math.min(n, s + p.batchSize);
        const users = pairs.user.subarray(s, e);
        const items = pairs.item.subarray(s, e);
        const labels = pairs.label.subarray(s, e);
        const loss = net.mlp ? towerStep(net, opt, users, items, labels, scratch) : gmfStep(net, opt, users, items, labels, scratch);
        lossSum += loss * (e - s);
        done++;
        if (done % 16 === 0) hooks.progress.update(done, { epoch, loss: Number(loss.toFixed(4)) });
      }
      samples += n;
      const record: EpochRecord = { epoch, loss: lossSum / Math.max(n, 1), seconds: 0 };
      let verdict = '';
      if (data.validation && stopper) {
        const m = validate(net, data.validation);
        record['ndcg@10'] = m.ndcg;
        record['hr@10'] = m.hr;
        verdict = stopper.observe(epoch, m.ndcg);
        if (verdict === 'stop' && p.plateauDecay > 0 && decayedAfter.length < p.plateauDecays && epoch < p.epochs) {
          opt.scale(p.plateauDecay);
          decayedAfter.push(epoch);
          stopper.resume();
          verdict = 'continue';
        }
      } else if (hooks.decayAfter?.includes(epoch)) {
        opt.scale(p.plateauDecay);
        decayedAfter.push(epoch);
      }
      record.seconds = (performance.now() - e0) / 1000;
      epochs.push(record);
      hooks.log(
        `${hooks.label} epoch ${epoch}/${p.epochs} loss ${record.loss.toFixed(4)}` +
          (record['ndcg@10'] !== undefined ? ` val ndcg@10 ${record['ndcg@10'].toFixed(4)} hr@10 ${(record['hr@10'] ?? 0).toFixed(4)}` : '') +
          ` ${record.seconds.toFixed(1)}s` +
          (decayedAfter[decayedAfter.length - 1] === epoch ? ` (learning rates x${p.plateauDecay})` : ''),
      );
      // Let timers and I/O (progress rendering, signals) run between epochs.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (verdict === 'stop') break;
    }
  } finally {
    hooks.progress.stop();
    opt.dispose();
  }
  let bestEpoch = epochs[epochs.length - 1]?.epoch ?? 0;
  if (stopper?.restoreBest()) bestEpoch = stopper.bestEpoch ?? bestEpoch;
  return { epochs, bestEpoch, decayedAfter, samples, seconds: (performance.now() - t0) / 1000 };
}
