/**
 * The two-tower training step: sampled softmax over the batch's positives plus uniformly drawn
 * items ("mixed negative sampling", Yang et al. 2020) with the logQ correction (Yi et al. 2019),
 * so that the loss approximates a full softmax instead of punishing popular items for turning up
 * as in-batch negatives more often. Candidates that are the row's own training items are masked.
 *
 * Per step: gather embedding rows in JS → tfjs forward/backward of the towers (engine/dense
 * gradientStep) → gradients w.r.t. the gathered rows → SparseAdam updates of the touched rows.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Csr, FeatureMatrix } from '../../data/dataset.js';
import { DenseAdam, gradientStep } from '../../engine/dense.js';
import { RowGradientAccumulator, SparseAdam } from '../../engine/embedding-table.js';
import { matMul } from '../../engine/gradients.js';
import type { Rng } from '../../engine/rng.js';
import { itemFeatureTensor, l2NormalizeRows, type Towers } from './towers.js';

/** A logit offset that removes a candidate from a row's softmax. */
const MASKED = -1e9;

export class TwoTowerTrainer {
  private readonly t: Towers;
  private readonly csr: Csr;
  private readonly userOpt: SparseAdam;
  private readonly itemOpt: SparseAdam;
  private readonly historyOpt: SparseAdam;
  private readonly denseOpt: DenseAdam;
  private readonly denseVars: tf.Variable[];
  /** training pairs: pair k is (pairUser[k], csr.indices[k]) */
  private readonly pairUser: Int32Array;
  private readonly order: Int32Array;
  private readonly batchSize: number;
  /** log of each item's expected count among a step's candidates */
  private readonly logQ: Float32Array;

  // Scratch reused across steps.
  private readonly userSlot: Int32Array;
  private readonly slotUsers: Int32Array;
  private readonly userSums: Float32Array;
  private readonly userGradSums: Float32Array;
  private readonly historyAcc: RowGradientAccumulator;
  private readonly itemAcc: RowGradientAccumulator;
  private readonly seen: Uint8Array;

  constructor(towers: Towers, csr: Csr) {
    const p = towers.params;
    this.t = towers;
    this.csr = csr;
    const sparse = { learningRate: p.embeddingLearningRate, l2: p.l2 };
    this.userOpt = new SparseAdam(towers.userTable, sparse);
    this.itemOpt = new SparseAdam(towers.itemTable, sparse);
    this.historyOpt = p.shareItemEmbeddings ? this.itemOpt : new SparseAdam(towers.historyTable, sparse);
    this.denseOpt = new DenseAdam({ learningRate: p.learningRate });
    this.denseVars = [...towers.userMlp.variables(), ...towers.itemMlp.variables()];

    const nPairs = csr.indices.length;
    this.pairUser = new Int32Array(nPairs);
    for (let u = 0; u < csr.rows; u++) this.pairUser.fill(u, csr.indptr[u] as number, csr.indptr[u + 1] as number);
    this.order = Int32Array.from({ length: nPairs }, (_, k) => k);
    this.batchSize = Math.max(1, Math.min(p.batchSize, nPairs));
    this.logQ = logCandidateCounts(csr, towers.nItems, this.batchSize, p.negatives);

    const d = p.dim;
    this.userSlot = new Int32Array(towers.nUsers).fill(-1);
    this.slotUsers = new Int32Array(this.batchSize);
    this.userSums = new Float32Array(this.batchSize * d);
    this.userGradSums = new Float32Array(this.batchSize * d);
    this.historyAcc = new RowGradientAccumulator(towers.nItems, d);
    this.itemAcc = p.shareItemEmbeddings ? this.historyAcc : new RowGradientAccumulator(towers.nItems, d);
    this.seen = new Uint8Array(towers.nItems);
  }

  get pairs(): number {
    return this.order.length;
  }

  get stepsPerEpoch(): number {
    return Math.ceil(this.order.length / this.batchSize);
  }

  /** One pass over the training pairs in an order drawn from `rng`; returns the mean loss. */
  async epoch(rng: Rng, onStep: (loss: number) => void = () => {}): Promise<number> {
    rng.shuffle(this.order);
    let lossSum = 0;
    for (let s = 0; s < this.order.length; s += this.batchSize) {
      const b = Math.min(this.batchSize, this.order.length - s);
      const users = new Int32Array(b);
      const items = new Int32Array(b);
      for (let k = 0; k < b; k++) {
        const pair = this.order[s + k] as number;
        users[k] = this.pairUser[pair] as number;
        items[k] = this.csr.indices[pair] as number;
      }
      const loss = this.step(users, items, rng);
      lossSum += loss * b;
      onStep(loss);
    }
    return lossSum / Math.max(this.order.length, 1);
  }

  dispose(): void {
    this.denseOpt.dispose();
  }

  /** One step on the pairs (users[k], items[k]); returns the batch's mean loss. */
  step(users: Int32Array, items: Int32Array, rng: Rng): number {
    const { t } = this;
    const p = t.params;
    const b = users.length;
    const d = p.dim;
    const C = b + p.negatives;
    const candidates = new Int32Array(C);
    candidates.set(items);
    for (let k = b; k < C; k++) candidates[k] = rng.int(t.nItems);

    const nSlots = this.sumHistories(users);
    const { mean, scale } = this.leaveOneOutMeans(users, items);
    const userEmb = p.userIdDim > 0 ? tf.tensor2d(t.userTable.gather(users), [b, p.userIdDim]) : undefined;
    const histEmb = tf.tensor2d(mean, [b, d]);
    const itemEmb = tf.tensor2d(t.itemTable.gather(candidates), [C, d]);
    const userFeat = t.userFeatures ? tf.tensor2d(rowsOf(t.userFeatures, users), [b, t.userFeatures.names.length]) : undefined;
    const itemFeat = itemFeatureTensor(t, candidates);
    const offsets = tf.tensor2d(this.logitOffsets(users, items, candidates), [b, C]);
    const labels = tf.tensor2d(diagonal(b, C), [b, C]);
    // Inputs whose gradients go back to the sparse tables: history means, item rows, user rows.
    const inputs: tf.Tensor[] = userEmb ? [histEmb, itemEmb, userEmb] : [histEmb, itemEmb];
    const constants = [userFeat, itemFeat, offsets, labels].filter((x): x is tf.Tensor2D => x !== undefined);
    let result;
    try {
      result = gradientStep({
        inputs,
        variables: this.denseVars,
        optimizer: this.denseOpt,
        loss: ([he, ie, ue]) => {
          const userIn = tf.concat([ue, he, userFeat].filter((x): x is tf.Tensor2D => x !== undefined), 1);
          const itemIn = itemFeat ? tf.concat([ie as tf.Tensor2D, itemFeat], 1) : (ie as tf.Tensor2D);
          let uv = t.userMlp.apply(userIn);
          let iv = t.itemMlp.apply(itemIn);
          if (p.l2Normalize) {
            uv = l2NormalizeRows(uv);
            iv = l2NormalizeRows(iv);
          }
          const logits = tf.add(tf.div(matMul(uv, iv, false, true), p.temperature), offsets);
          return tf.neg(tf.div(tf.sum(tf.mul(tf.logSoftmax(logits), labels)), b)) as tf.Scalar;
        },
      });
    } finally {
      tf.dispose([...inputs, ...constants]);
    }
    const [gHist, gItem, gUser] = result.inputGrads as [Float32Array, Float32Array, Float32Array | undefined];

    if (gUser) this.userOpt.update(users, gUser);
    this.scatterHistoryGradient(users, items, gHist, scale, nSlots);
    this.itemAcc.addRows(candidates, gItem);
    const h = this.historyAcc.view();
    this.historyOpt.updateDistinct(h.indices, h.grads);
    this.historyAcc.clear();
    if (this.itemAcc !== this.historyAcc) {
      const i = this.itemAcc.view();
      this.itemOpt.updateDistinct(i.indices, i.grads);
      this.itemAcc.clear();
    }
    return result.loss;
  }

  /** Sums the history rows of each distinct user of the batch into userSums; returns how many. */
  private sumHistories(users: Int32Array): number {
    const { csr, userSlot, slotUsers, userSums } = this;
    const d = this.t.params.dim;
    const hv = this.t.historyTable.values;
    let nSlots = 0;
    for (let k = 0; k < users.length; k++) {
      const u = users[k] as number;
      if ((userSlot[u] as number) >= 0) continue;
      const slot = nSlots++;
      userSlot[u] = slot;
      slotUsers[slot] = u;
      const base = slot * d;
      userSums.fill(0, base, base + d);
      for (let q = csr.indptr[u] as number; q < (csr.indptr[u + 1] as number); q++) {
        const h = (csr.indices[q] as number) * d;
        for (let j = 0; j < d; j++) userSums[base + j] = (userSums[base + j] as number) + (hv[h + j] as number);
      }
    }
    return nSlots;
  }

  /**
   * Each pair's history mean without its own target, (sum − e_i) / (n − 1): with the target in
   * its own input the tower would learn to find it there rather than to predict it. A user whose
   * only item is the target gets the empty history's zero mean, as at serving time.
   */
  private leaveOneOutMeans(users: Int32Array, items: Int32Array): { mean: Float32Array; scale: Float32Array } {
    const { csr, userSlot, userSums } = this;
    const d = this.t.params.dim;
    const hv = this.t.historyTable.values;
    const mean = new Float32Array(users.length * d);
    const scale = new Float32Array(users.length);
    for (let k = 0; k < users.length; k++) {
      const u = users[k] as number;
      const n = (csr.indptr[u + 1] as number) - (csr.indptr[u] as number);
      if (n <= 1) continue;
      const s = 1 / (n - 1);
      scale[k] = s;
      const sb = (userSlot[u] as number) * d;
      const ib = (items[k] as number) * d;
      for (let j = 0; j < d; j++) mean[k * d + j] = ((userSums[sb + j] as number) - (hv[ib + j] as number)) * s;
    }
    return { mean, scale };
  }

  /**
   * d mean / d e_h is scale for every history item h except the target (which is not in its own
   * mean), so per user the batch's gradients are summed once and spread over the user's items,
   * and each target gets its own share taken back.
   */
  private scatterHistoryGradient(users: Int32Array, items: Int32Array, gHist: Float32Array, scale: Float32Array, nSlots: number): void {
    const { csr, userSlot, slotUsers, userGradSums, historyAcc } = this;
    const d = this.t.params.dim;
    userGradSums.fill(0, 0, nSlots * d);
    for (let k = 0; k < users.length; k++) {
      const s = scale[k] as number;
      if (s === 0) continue;
      const sb = (userSlot[users[k] as number] as number) * d;
      for (let j = 0; j < d; j++) userGradSums[sb + j] = (userGradSums[sb + j] as number) + s * (gHist[k * d + j] as number);
      historyAcc.add(items[k] as number, gHist, k * d, -s);
    }
    for (let slot = 0; slot < nSlots; slot++) {
      const u = slotUsers[slot] as number;
      for (let q = csr.indptr[u] as number; q < (csr.indptr[u + 1] as number); q++) historyAcc.add(csr.indices[q] as number, userGradSums, slot * d);
      userSlot[u] = -1;
    }
  }

  /** −log Q per candidate; MASKED where the candidate is one of the row's own training items. */
  private logitOffsets(users: Int32Array, items: Int32Array, candidates: Int32Array): Float32Array {
    const { csr, seen, logQ } = this;
    const mask = this.t.params.maskSeen;
    const C = candidates.length;
    const offsets = new Float32Array(users.length * C);
    for (let k = 0; k < users.length; k++) {
      const u = users[k] as number;
      const lo = csr.indptr[u] as number;
      const hi = csr.indptr[u + 1] as number;
      if (mask) for (let q = lo; q < hi; q++) seen[csr.indices[q] as number] = 1;
      const target = items[k] as number;
      const row = k * C;
      for (let j = 0; j < C; j++) {
        const c = candidates[j] as number;
        const masked = j !== k && (c === target || seen[c] === 1);
        offsets[row + j] = masked ? MASKED : -(logQ[c] as number);
      }
      if (mask) for (let q = lo; q < hi; q++) seen[csr.indices[q] as number] = 0;
    }
    return offsets;
  }
}

/** log(batch · p(i) + negatives / nItems): item i's expected count among one step's candidates. */
function logCandidateCounts(csr: Csr, nItems: number, batch: number, negatives: number): Float32Array {
  const counts = new Float64Array(nItems);
  for (let k = 0; k < csr.indices.length; k++) {
    const i = csr.indices[k] as number;
    counts[i] = (counts[i] as number) + 1;
  }
  const nnz = Math.max(csr.indices.length, 1);
  const out = new Float32Array(nItems);
  for (let i = 0; i < nItems; i++) out[i] = Math.log((batch * (counts[i] as number)) / nnz + negatives / Math.max(nItems, 1) + 1e-12);
  return out;
}

function diagonal(rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let k = 0; k < rows; k++) out[k * cols + k] = 1;
  return out;
}

function rowsOf(f: FeatureMatrix, rows: Int32Array): Float32Array {
  const c = f.names.length;
  const out = new Float32Array(rows.length * c);
  for (let b = 0; b < rows.length; b++) {
    const r = rows[b] as number;
    out.set(f.values.subarray(r * c, r * c + c), b * c);
  }
  return out;
}
