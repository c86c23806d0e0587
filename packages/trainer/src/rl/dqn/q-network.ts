import type { Rng } from '../../engine/rng.js';
import { STATE_PADDING } from '../env.js';
import { Gru, GruTape } from './gru.js';

/**
 * The DQN's Q-network (after DEERS, Zhao et al. 2018, "Recommendations with Negative Feedback via
 * Pairwise Deep Reinforcement Learning"): a state is two item sequences, the user's last N liked
 * items and last N skipped items (items recommended but not liked). One GRU reads each; an MLP
 * maps [h_pos, h_skip] to a state vector φ(s), and
 *
 *   Q(s, a) = φ(s) · [e_a, 1],
 *
 * with e_a the candidate's fixed pre-trained MF embedding (factors and item bias) and the trailing 1
 * giving a state-value term. Scoring every candidate is then one matrix product, which keeps
 * ε-greedy acting and the max over next actions cheap, and exports as Gather + MatMul.
 * An optional prior φ₀(s) per row (rl/dqn/belief.ts: a ridge fold-in of the state's items) is added
 * to φ, so an untrained network already ranks like a rating model folded in from the state and
 * training learns a correction — the same idea as DRR's skip connection. `smallOutput` starts the
 * last layer at zero for that case.
 *
 * All parameters live in one Float32Array (GRU_pos, GRU_skip, W1, b1, W2, b2) so Adam, target
 * copies and soft updates are flat loops.
 */

export interface QNetworkShape {
  /** N: length of each sequence */
  seqLen: number;
  /** E: item embedding width (factors + bias) */
  embDim: number;
  hidden: number;
  mlpHidden: number;
  /** start the output layer at 0 (when a prior carries the initial ranking) */
  smallOutput: boolean;
  /**
   * the MLP also reads the prior φ₀ (concatenated after the GRU states), so the correction can
   * depend on the belief itself — what the ratings observed so far say — not only on which items
   * were liked or skipped
   */
  priorInput?: boolean;
}

/** Activations of one taped forward pass. */
interface Tape {
  pos: Float32Array;
  posLen: number;
  neg: Float32Array;
  negLen: number;
  posTape: GruTape;
  negTape: GruTape;
  f: Float32Array;
  u: Float32Array;
}

export class QNetwork {
  readonly params: Float32Array;
  readonly gruPos: Gru;
  readonly gruNeg: Gru;
  readonly W1: Float32Array;
  readonly b1: Float32Array;
  readonly W2: Float32Array;
  readonly b2: Float32Array;
  /** φ's width: E + 1 */
  readonly outDim: number;
  /** the MLP's input width: 2H, plus outDim with priorInput */
  readonly mlpIn: number;

  constructor(
    readonly shape: QNetworkShape,
    /** [nItems, embDim], not trained */
    readonly items: Float32Array,
    rng?: Rng,
  ) {
    const { embDim: E, hidden: H, mlpHidden: M } = shape;
    this.outDim = E + 1;
    this.mlpIn = 2 * H + (shape.priorInput === true ? this.outDim : 0);
    const g = Gru.size(E, H);
    const sizes = [g, g, M * this.mlpIn, M, this.outDim * M, this.outDim];
    this.params = new Float32Array(sizes.reduce((a, b) => a + b, 0));
    let o = 0;
    const take = (n: number) => this.params.subarray(o, (o += n));
    this.gruPos = new Gru(E, H, take(g));
    this.gruNeg = new Gru(E, H, take(g));
    this.W1 = take(M * this.mlpIn);
    this.b1 = take(M);
    this.W2 = take(this.outDim * M);
    this.b2 = take(this.outDim);
    if (rng !== undefined) {
      this.gruPos.init(rng);
      this.gruNeg.init(rng);
      const a1 = Math.sqrt(6 / (this.mlpIn + M));
      for (let k = 0; k < this.W1.length; k++) this.W1[k] = (2 * rng.next() - 1) * a1;
      // with a prior the output layer starts at zero: the untrained network is exactly the prior,
      // and training adds a correction (W2's gradient is non-zero, so it moves off zero at once)
      const a2 = shape.smallOutput ? 0 : Math.sqrt(6 / (M + this.outDim));
      for (let k = 0; k < this.W2.length; k++) this.W2[k] = (2 * rng.next() - 1) * a2;
    }
  }

  get nItems(): number {
    return this.items.length / this.shape.embDim;
  }

  clone(): QNetwork {
    const q = new QNetwork(this.shape, this.items);
    q.params.set(this.params);
    return q;
  }

  /** Embeddings of a state's non-padding items, left-aligned [len, E]. */
  private sequence(state: Int32Array, offset: number): { x: Float32Array; len: number } {
    const { seqLen: N, embDim: E } = this.shape;
    const x = new Float32Array(N * E);
    let len = 0;
    for (let t = 0; t < N; t++) {
      const i = state[offset + t]!;
      if (i === STATE_PADDING) continue;
      x.set(this.items.subarray(i * E, (i + 1) * E), len * E);
      len++;
    }
    return { x, len };
  }

  /**
   * φ(s) of one state (row `b` of a [batch, 2N] array: liked items then skipped items, each oldest
   * first with STATE_PADDING for empty slots) into out[o .. o + outDim). With a tape, what backward needs.
   */
  phi(states: Int32Array, b: number, out: Float32Array, o: number, tape?: Tape, prior?: Float32Array, po = 0): void {
    const { seqLen: N, hidden: H, mlpHidden: M } = this.shape;
    const pos = this.sequence(states, b * 2 * N);
    const neg = this.sequence(states, b * 2 * N + N);
    const posTape = tape?.posTape;
    const negTape = tape?.negTape;
    const hp = this.gruPos.forward(pos.x, pos.len, posTape);
    const hn = this.gruNeg.forward(neg.x, neg.len, negTape);
    const F = this.mlpIn;
    const f = new Float32Array(F);
    f.set(hp, 0);
    f.set(hn, H);
    if (F > 2 * H && prior !== undefined) f.set(prior.subarray(po, po + this.outDim), 2 * H);
    const u = new Float32Array(M);
    for (let m = 0; m < M; m++) {
      let s = this.b1[m]!;
      const wo = m * F;
      for (let k = 0; k < F; k++) s += this.W1[wo + k]! * f[k]!;
      u[m] = s;
    }
    const D = this.outDim;
    for (let d = 0; d < D; d++) {
      let s = this.b2[d]!;
      const wo = d * M;
      for (let m = 0; m < M; m++) {
        const a = u[m]!;
        if (a > 0) s += this.W2[wo + m]! * a;
      }
      out[o + d] = s;
    }
    if (prior !== undefined) for (let d = 0; d < D; d++) out[o + d] = out[o + d]! + prior[po + d]!;
    if (tape !== undefined) {
      tape.pos = pos.x;
      tape.posLen = pos.len;
      tape.neg = neg.x;
      tape.negLen = neg.len;
      tape.f = f;
      tape.u = u;
    }
  }

  /** φ for every row of states [batch, 2N] → [batch, outDim], plus priors [batch, outDim] if given. */
  phiBatch(states: Int32Array, priors?: Float32Array): Float32Array {
    const rows = states.length / (2 * this.shape.seqLen);
    const out = new Float32Array(rows * this.outDim);
    for (let b = 0; b < rows; b++) this.phi(states, b, out, b * this.outDim, undefined, priors, b * this.outDim);
    return out;
  }

  /** Q(s, a) for every item: φ [rows, outDim] → [rows, nItems]. */
  qAll(phi: Float32Array, rows: number): Float32Array {
    const E = this.shape.embDim;
    const D = this.outDim;
    const n = this.nItems;
    const out = new Float32Array(rows * n);
    for (let b = 0; b < rows; b++) {
      const po = b * D;
      const c = phi[po + E]!;
      for (let i = 0; i < n; i++) {
        let s = c;
        const eo = i * E;
        for (let d = 0; d < E; d++) s += phi[po + d]! * this.items[eo + d]!;
        out[b * n + i] = s;
      }
    }
    return out;
  }

  /** Q(s, a) of one item given φ at phi[o..]. */
  q(phi: Float32Array, o: number, item: number): number {
    const E = this.shape.embDim;
    let s = phi[o + E]!;
    for (let d = 0; d < E; d++) s += phi[o + d]! * this.items[item * E + d]!;
    return s;
  }

  newTape(): Tape {
    return { pos: new Float32Array(0), posLen: 0, neg: new Float32Array(0), negLen: 0, posTape: new GruTape(), negTape: new GruTape(), f: new Float32Array(0), u: new Float32Array(0) };
  }

  /** Adds dL/dparams into grad given dL/dQ(s, item) = dq for a taped forward pass. */
  backward(tape: Tape, item: number, dq: number, grad: Float32Array): void {
    const { embDim: E, hidden: H, mlpHidden: M } = this.shape;
    const D = this.outDim;
    // dφ = dq · [e_a, 1]
    const dphi = new Float64Array(D);
    for (let d = 0; d < E; d++) dphi[d] = dq * this.items[item * E + d]!;
    dphi[E] = dq;
    const g = Gru.size(E, H);
    const F = this.mlpIn;
    const oW1 = 2 * g;
    const ob1 = oW1 + M * F;
    const oW2 = ob1 + M;
    const ob2 = oW2 + D * M;
    const du = new Float64Array(M);
    for (let d = 0; d < D; d++) {
      const v = dphi[d]!;
      grad[ob2 + d] = grad[ob2 + d]! + v;
      const wo = d * M;
      for (let m = 0; m < M; m++) {
        const a = tape.u[m]!;
        if (a <= 0) continue;
        grad[oW2 + wo + m] = grad[oW2 + wo + m]! + v * a;
        du[m] = du[m]! + this.W2[wo + m]! * v;
      }
    }
    // the prior is an input, not a parameter: only the GRU part of dL/df is propagated
    const df = new Float32Array(F);
    for (let m = 0; m < M; m++) {
      const v = du[m]!;
      if (v === 0) continue;
      grad[ob1 + m] = grad[ob1 + m]! + v;
      const wo = m * F;
      for (let k = 0; k < F; k++) {
        grad[oW1 + wo + k] = grad[oW1 + wo + k]! + v * tape.f[k]!;
        df[k] = df[k]! + this.W1[wo + k]! * v;
      }
    }
    if (tape.posLen > 0) this.gruPos.backward(tape.pos, tape.posTape, df.subarray(0, H), grad.subarray(0, g));
    if (tape.negLen > 0) this.gruNeg.backward(tape.neg, tape.negTape, df.subarray(H, 2 * H), grad.subarray(g, 2 * g));
  }

  /** target ← τ·online + (1 − τ)·target (τ = 1 copies). */
  softUpdateFrom(online: QNetwork, tau: number): void {
    const t = this.params;
    const s = online.params;
    if (tau >= 1) t.set(s);
    else for (let k = 0; k < t.length; k++) t[k] = t[k]! + tau * (s[k]! - t[k]!);
  }
}
