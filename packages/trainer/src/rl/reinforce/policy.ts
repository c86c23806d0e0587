import type { Rng } from '../../engine/rng.js';
import { ArrayAdam } from '../../models/kgcn/array-adam.js';
import { STATE_PADDING } from '../env.js';
import { clippedImportanceWeight, topKCorrection } from './correction.js';
import type { LoggedStep } from './logged.js';

/**
 * The REINFORCE softmax policy: the state is the mean of the liked items' fixed MF embeddings, an
 * MLP turns it into a user vector φ(s), and π(a|s) = softmax_a(φ(s)·V_a) over the whole catalogue
 * with V learned (initialised from the MF item embeddings with a zero bias column). A second head,
 * β_θ(a|s) = softmax_a(g(s)·U_a), learns the behaviour policy by maximum likelihood on the logged
 * items when propensities are not trusted (Chen et al. §4.3); its gradient does not reach the shared
 * layer. Hand-written over typed arrays (like the DQN) because a full softmax over ~4k items per
 * sample is one tight loop, and tfjs's per-op overhead would dominate at these sizes.
 */

export interface PolicyShape {
  embDim: number;
  hidden: number;
  learnedBeta: boolean;
}

export interface ReinforceTrainParams {
  topK: number;
  weightCap: number;
  entropy: number;
  lr: number;
  batchSize: number;
  /** subtract the mean return of the logged steps (variance control) */
  baseline: boolean;
}

export interface BatchStats {
  /** mean −w·λ·(R − b)·log π(a|s) */
  loss: number;
  meanWeight: number;
  /** share of steps whose π/β hit the cap */
  clipped: number;
  entropy: number;
}

export class SoftmaxPolicy {
  readonly params: Float32Array;
  readonly W1: Float32Array;
  readonly b1: Float32Array;
  readonly W2: Float32Array;
  readonly b2: Float32Array;
  /** [nItems, D] output item vectors of π */
  readonly V: Float32Array;
  readonly betaParams: Float32Array;
  readonly Wb: Float32Array;
  readonly bb: Float32Array;
  readonly U: Float32Array;
  /** φ's width = E + 1 */
  readonly D: number;
  readonly nItems: number;

  constructor(
    readonly shape: PolicyShape,
    /** fixed [nItems, E] state-side embeddings */
    readonly items: Float32Array,
    rng: Rng,
  ) {
    const E = shape.embDim;
    const M = shape.hidden;
    this.D = E + 1;
    this.nItems = items.length / E;
    const sizes = [M * E, M, this.D * M, this.D, this.nItems * this.D];
    this.params = new Float32Array(sizes.reduce((a, b) => a + b, 0));
    let o = 0;
    const take = (n: number) => this.params.subarray(o, (o += n));
    this.W1 = take(M * E);
    this.b1 = take(M);
    this.W2 = take(this.D * M);
    this.b2 = take(this.D);
    this.V = take(this.nItems * this.D);
    const bsizes = [this.D * M, this.D, this.nItems * this.D];
    this.betaParams = new Float32Array(shape.learnedBeta ? bsizes.reduce((a, b) => a + b, 0) : 0);
    let ob = 0;
    const takeB = (n: number) => this.betaParams.subarray(ob, (ob += shape.learnedBeta ? n : 0));
    this.Wb = takeB(this.D * M);
    this.bb = takeB(this.D);
    this.U = takeB(this.nItems * this.D);
    const a1 = Math.sqrt(6 / (E + M));
    for (let k = 0; k < this.W1.length; k++) this.W1[k] = (2 * rng.next() - 1) * a1;
    const a2 = Math.sqrt(6 / (M + this.D));
    for (let k = 0; k < this.W2.length; k++) this.W2[k] = (2 * rng.next() - 1) * a2;
    for (let k = 0; k < this.Wb.length; k++) this.Wb[k] = (2 * rng.next() - 1) * a2;
    for (let i = 0; i < this.nItems; i++) {
      this.V.set(items.subarray(i * E, (i + 1) * E), i * this.D);
      if (shape.learnedBeta) this.U.set(items.subarray(i * E, (i + 1) * E), i * this.D);
    }
  }

  /** mean embedding of the state's items, and the hidden layer */
  private encode(state: Int32Array): { x: Float32Array; h: Float32Array } {
    const E = this.shape.embDim;
    const M = this.shape.hidden;
    const x = new Float32Array(E);
    let n = 0;
    for (const i of state) {
      if (i === STATE_PADDING) continue;
      for (let d = 0; d < E; d++) x[d] = x[d]! + this.items[i * E + d]!;
      n++;
    }
    if (n > 0) for (let d = 0; d < E; d++) x[d] = x[d]! / n;
    const h = new Float32Array(M);
    for (let m = 0; m < M; m++) {
      let s = this.b1[m]!;
      for (let d = 0; d < E; d++) s += this.W1[m * E + d]! * x[d]!;
      h[m] = s > 0 ? s : 0;
    }
    return { x, h };
  }

  private head(h: Float32Array, W: Float32Array, b: Float32Array): Float32Array {
    const M = this.shape.hidden;
    const phi = new Float32Array(this.D);
    for (let d = 0; d < this.D; d++) {
      let s = b[d]!;
      for (let m = 0; m < M; m++) s += W[d * M + m]! * h[m]!;
      phi[d] = s;
    }
    return phi;
  }

  private logits(phi: Float32Array, V: Float32Array, out: Float32Array, o = 0): void {
    const D = this.D;
    for (let i = 0; i < this.nItems; i++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += phi[d]! * V[i * D + d]!;
      out[o + i] = s;
    }
  }

  /** φ(s) for each state row [rows, stateSize] → [rows, D]: π's logits are φ(s)·V_a. */
  userVectors(states: Int32Array, stateSize: number): Float32Array {
    const rows = states.length / stateSize;
    const out = new Float32Array(rows * this.D);
    for (let b = 0; b < rows; b++) out.set(this.head(this.encode(states.subarray(b * stateSize, (b + 1) * stateSize)).h, this.W2, this.b2), b * this.D);
    return out;
  }

  /** Logits of π for each state row [rows, stateSize] → [rows, nItems] (ranking = top-K of π). */
  scores(states: Int32Array, stateSize: number): Float32Array {
    const rows = states.length / stateSize;
    const out = new Float32Array(rows * this.nItems);
    for (let b = 0; b < rows; b++) {
      const { h } = this.encode(states.subarray(b * stateSize, (b + 1) * stateSize));
      this.logits(this.head(h, this.W2, this.b2), this.V, out, b * this.nItems);
    }
    return out;
  }

  /** π(·|s) for one state. */
  probabilities(state: Int32Array): Float64Array {
    const { h } = this.encode(state);
    const z = new Float32Array(this.nItems);
    this.logits(this.head(h, this.W2, this.b2), this.V, z);
    return softmax(z);
  }

  /**
   * Accumulates one batch's gradient of the corrected REINFORCE loss (and, with a learned β, the
   * β head's cross-entropy) and applies Adam.
   */
  trainBatch(batch: readonly LoggedStep[], p: ReinforceTrainParams, baseline: number, adam: ArrayAdam, betaAdam: ArrayAdam | undefined): BatchStats {
    const E = this.shape.embDim;
    const M = this.shape.hidden;
    const D = this.D;
    const n = this.nItems;
    const oW1 = 0;
    const ob1 = M * E;
    const oW2 = ob1 + M;
    const ob2 = oW2 + D * M;
    const oV = ob2 + D;
    const grad = new Float32Array(this.params.length);
    const bgrad = betaAdam !== undefined ? new Float32Array(this.betaParams.length) : undefined;
    const z = new Float32Array(n);
    const stats: BatchStats = { loss: 0, meanWeight: 0, clipped: 0, entropy: 0 };
    for (const step of batch) {
      const { x, h } = this.encode(step.state);
      const phi = this.head(h, this.W2, this.b2);
      this.logits(phi, this.V, z);
      const pi = softmax(z);
      let beta = step.propensity;
      let pb: Float64Array | undefined;
      let gb: Float32Array | undefined;
      if (bgrad !== undefined) {
        gb = this.head(h, this.Wb, this.bb);
        this.logits(gb, this.U, z);
        pb = softmax(z);
        beta = Math.max(pb[step.item]!, 1e-12);
      }
      const pa = pi[step.item]!;
      const w = clippedImportanceWeight(pa, beta, p.weightCap);
      if (pa / beta >= p.weightCap) stats.clipped++;
      const lambda = topKCorrection(pa, p.topK);
      const coef = (w * lambda * (step.ret - baseline)) / batch.length;
      let H = 0;
      for (let i = 0; i < n; i++) if (pi[i]! > 0) H -= pi[i]! * Math.log(pi[i]!);
      stats.loss += -w * lambda * (step.ret - baseline) * Math.log(Math.max(pa, 1e-30));
      stats.meanWeight += w;
      stats.entropy += H;
      // dL/dz_i = coef·(π_i − 1[i = a]) + η·π_i·(log π_i + H) / batch (the entropy bonus −η·H)
      const dphi = new Float64Array(D);
      const eta = p.entropy / batch.length;
      for (let i = 0; i < n; i++) {
        const q = pi[i]!;
        let g = coef * (q - (i === step.item ? 1 : 0));
        if (eta > 0 && q > 0) g += eta * q * (Math.log(q) + H);
        if (g === 0) continue;
        const vo = i * D;
        for (let d = 0; d < D; d++) {
          dphi[d] = dphi[d]! + g * this.V[vo + d]!;
          grad[oV + vo + d] = grad[oV + vo + d]! + g * phi[d]!;
        }
      }
      const dh = new Float64Array(M);
      for (let d = 0; d < D; d++) {
        const g = dphi[d]!;
        grad[ob2 + d] = grad[ob2 + d]! + g;
        for (let m = 0; m < M; m++) {
          grad[oW2 + d * M + m] = grad[oW2 + d * M + m]! + g * h[m]!;
          dh[m] = dh[m]! + this.W2[d * M + m]! * g;
        }
      }
      for (let m = 0; m < M; m++) {
        if (h[m]! <= 0) continue;
        const g = dh[m]!;
        grad[ob1 + m] = grad[ob1 + m]! + g;
        for (let d = 0; d < E; d++) grad[oW1 + m * E + d] = grad[oW1 + m * E + d]! + g * x[d]!;
      }
      if (bgrad !== undefined && pb !== undefined && gb !== undefined) {
        // cross-entropy of the logged item under β_θ; h is a constant here (gradient blocked)
        const oWb = 0;
        const obb = D * M;
        const oU = obb + D;
        const dg = new Float64Array(D);
        for (let i = 0; i < n; i++) {
          const g = (pb[i]! - (i === step.item ? 1 : 0)) / batch.length;
          const uo = i * D;
          for (let d = 0; d < D; d++) {
            dg[d] = dg[d]! + g * this.U[uo + d]!;
            bgrad[oU + uo + d] = bgrad[oU + uo + d]! + g * gb[d]!;
          }
        }
        for (let d = 0; d < D; d++) {
          bgrad[obb + d] = bgrad[obb + d]! + dg[d]!;
          for (let m = 0; m < M; m++) bgrad[oWb + d * M + m] = bgrad[oWb + d * M + m]! + dg[d]! * h[m]!;
        }
      }
    }
    adam.step(grad);
    if (betaAdam !== undefined && bgrad !== undefined) betaAdam.step(bgrad);
    const k = Math.max(1, batch.length);
    return { loss: stats.loss / k, meanWeight: stats.meanWeight / k, clipped: stats.clipped / k, entropy: stats.entropy / k };
  }
}

/** Numerically stable softmax in float64. */
export function softmax(z: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) if (z[i]! > max) max = z[i]!;
  const out = new Float64Array(z.length);
  let s = 0;
  for (let i = 0; i < z.length; i++) {
    const e = Math.exp(z[i]! - max);
    out[i] = e;
    s += e;
  }
  for (let i = 0; i < z.length; i++) out[i] = out[i]! / s;
  return out;
}
