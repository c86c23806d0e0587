/**
 * DRR's actor–critic (Liu et al. 2018, as trained by @tastemaker/trainer's rl/drr) in plain typed
 * arrays: forward, backward and DDPG updates with no tfjs, so a served policy keeps learning at the
 * edge too. The networks are tiny (two dense layers each), so per-sample loops over Float32Array
 * weights with float64 accumulation are fast enough and need no library; no installed package does
 * reverse-mode differentiation without tfjs.
 *
 *   state   drr-n    s = [w_l H_l]_l
 *           drr-p    s = [w_l H_l]_l ++ [w_a H_a ⊙ w_b H_b]_{a<b}
 *           drr-u    s = [u ⊙ w_l H_l]_l ++ [w_a H_a ⊙ w_b H_b]_{a<b}
 *           drr-ave  p = Σ_l w_l H_l, s = [u, u ⊙ p, p]
 *   actor   raw = tanh(relu(s W1 + b1) W2 + b2); a = n / sqrt(|n|² + 1e-8), n = raw (+ base with the
 *           skip connection: u for drr-u/ave, the mean of H's N rows for drr-n/p)
 *   critic  v = s W5 + b5; Q = relu([s, a, a ⊙ v] W3 + b3) W4 + b4
 * H is the state's N item rows (oldest first, zero rows for padding), u the user's row (zero when
 * unknown). Weight matrices are row-major [in, out], y = x · W + b, as in the trainer's Dense layer.
 */

export const DRR_STATE_MODULES = ['drr-n', 'drr-p', 'drr-u', 'drr-ave'] as const;
export type DrrStateModule = (typeof DRR_STATE_MODULES)[number];

export interface DrrShape {
  kind: DrrStateModule;
  /** N: items in a state */
  stateSize: number;
  /** d: width of item rows, user rows and the action */
  dim: number;
  actorHidden: number;
  criticHidden: number;
  skip: boolean;
}

/** Parameter tensors in their order in the flat vector (and in the weights file). */
export const DRR_TENSORS = [
  'sm.weights',
  'actor.0.weight',
  'actor.0.bias',
  'actor.1.weight',
  'actor.1.bias',
  'interaction.weight',
  'interaction.bias',
  'critic.0.weight',
  'critic.0.bias',
  'critic.1.weight',
  'critic.1.bias',
] as const;
export type DrrTensorName = (typeof DRR_TENSORS)[number];

export function drrStateDim(kind: DrrStateModule, n: number, d: number): number {
  const pairs = (n * (n - 1)) / 2;
  if (kind === 'drr-n') return n * d;
  if (kind === 'drr-ave') return 3 * d;
  return (n + pairs) * d;
}

/** Shape [rows, cols] of each tensor (biases are [1, cols]). */
export function drrTensorShapes(shape: DrrShape): Record<DrrTensorName, [number, number]> {
  const S = drrStateDim(shape.kind, shape.stateSize, shape.dim);
  const { dim: d, actorHidden: H, criticHidden: C, stateSize: N } = shape;
  return {
    'sm.weights': [1, N],
    'actor.0.weight': [S, H],
    'actor.0.bias': [1, H],
    'actor.1.weight': [H, d],
    'actor.1.bias': [1, d],
    'interaction.weight': [S, d],
    'interaction.bias': [1, d],
    'critic.0.weight': [S + 2 * d, C],
    'critic.0.bias': [1, C],
    'critic.1.weight': [C, 1],
    'critic.1.bias': [1, 1],
  };
}

/** Offsets of every tensor in the flat parameter vector. */
export function drrLayout(shape: DrrShape): { offsets: Record<DrrTensorName, number>; sizes: Record<DrrTensorName, number>; total: number } {
  const shapes = drrTensorShapes(shape);
  const offsets = {} as Record<DrrTensorName, number>;
  const sizes = {} as Record<DrrTensorName, number>;
  let total = 0;
  for (const name of DRR_TENSORS) {
    const [r, c] = shapes[name];
    offsets[name] = total;
    sizes[name] = r * c;
    total += r * c;
  }
  return { offsets, sizes, total };
}

/** What one forward pass keeps for its backward pass. */
export interface DrrTrace {
  u: Float32Array;
  /** [N·d] */
  items: Float32Array;
  /** [N·d] w_l H_l */
  weighted: Float64Array;
  s: Float64Array;
  /** actor hidden after ReLU */
  hidden: Float64Array;
  raw: Float64Array;
  /** pre-normalisation action */
  n: Float64Array;
  norm: number;
  a: Float64Array;
}

interface CriticTrace {
  v: Float64Array;
  z: Float64Array;
  hidden: Float64Array;
  q: number;
}

const NORM_EPS = 1e-8;

/** The DRR networks over one flat Float32Array of parameters (see DRR_TENSORS for the order). */
export class DrrNetwork {
  readonly stateWidth: number;
  readonly offsets: Record<DrrTensorName, number>;
  readonly size: number;
  private readonly pairsA: Int32Array;
  private readonly pairsB: Int32Array;

  constructor(
    readonly shape: DrrShape,
    readonly params: Float32Array,
  ) {
    const layout = drrLayout(shape);
    if (params.length !== layout.total) throw new RangeError(`DRR parameters: expected ${layout.total} values for ${JSON.stringify(shape)}, got ${params.length}`);
    this.stateWidth = drrStateDim(shape.kind, shape.stateSize, shape.dim);
    this.offsets = layout.offsets;
    this.size = layout.total;
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < shape.stateSize; i++) for (let j = i + 1; j < shape.stateSize; j++) (a.push(i), b.push(j));
    this.pairsA = Int32Array.from(a);
    this.pairsB = Int32Array.from(b);
  }

  view(name: DrrTensorName, params: Float32Array = this.params): Float32Array {
    const layout = drrLayout(this.shape);
    return params.subarray(layout.offsets[name], layout.offsets[name] + layout.sizes[name]);
  }

  /** State, actor and normalised action for one user row u [d] and state item rows [N·d]. */
  forward(u: Float32Array, items: Float32Array): DrrTrace {
    const { stateSize: N, dim: d, kind, actorHidden: H } = this.shape;
    const P = this.params;
    const o = this.offsets;
    const w = o['sm.weights'];
    const weighted = new Float64Array(N * d);
    for (let l = 0; l < N; l++) {
      const wl = P[w + l] as number;
      for (let k = 0; k < d; k++) weighted[l * d + k] = wl * (items[l * d + k] as number);
    }
    const s = new Float64Array(this.stateWidth);
    if (kind === 'drr-ave') {
      for (let l = 0; l < N; l++) for (let k = 0; k < d; k++) s[2 * d + k] = (s[2 * d + k] as number) + (weighted[l * d + k] as number);
      for (let k = 0; k < d; k++) {
        s[k] = u[k] as number;
        s[d + k] = (u[k] as number) * (s[2 * d + k] as number);
      }
    } else {
      for (let l = 0; l < N; l++) {
        for (let k = 0; k < d; k++) s[l * d + k] = kind === 'drr-u' ? (u[k] as number) * (weighted[l * d + k] as number) : (weighted[l * d + k] as number);
      }
      if (kind !== 'drr-n') {
        for (let p = 0; p < this.pairsA.length; p++) {
          const a = (this.pairsA[p] as number) * d;
          const b = (this.pairsB[p] as number) * d;
          const base = (N + p) * d;
          for (let k = 0; k < d; k++) s[base + k] = (weighted[a + k] as number) * (weighted[b + k] as number);
        }
      }
    }
    const hidden = dense(s, P, o['actor.0.weight'], o['actor.0.bias'], this.stateWidth, H);
    for (let j = 0; j < H; j++) if ((hidden[j] as number) < 0) hidden[j] = 0;
    const raw = dense(hidden, P, o['actor.1.weight'], o['actor.1.bias'], H, d);
    for (let k = 0; k < d; k++) raw[k] = Math.tanh(raw[k] as number);
    const n = Float64Array.from(raw);
    if (this.shape.skip) {
      if (kind === 'drr-u' || kind === 'drr-ave') for (let k = 0; k < d; k++) n[k] = (n[k] as number) + (u[k] as number);
      else {
        for (let l = 0; l < N; l++) for (let k = 0; k < d; k++) n[k] = (n[k] as number) + (items[l * d + k] as number) / N;
      }
    }
    let sq = 0;
    for (let k = 0; k < d; k++) sq += (n[k] as number) ** 2;
    const norm = Math.sqrt(sq + NORM_EPS);
    const a = new Float64Array(d);
    for (let k = 0; k < d; k++) a[k] = (n[k] as number) / norm;
    return { u, items, weighted, s, hidden, raw, n, norm, a };
  }

  critic(s: Float64Array, a: ArrayLike<number>): CriticTrace {
    const { dim: d, criticHidden: C } = this.shape;
    const S = this.stateWidth;
    const o = this.offsets;
    const v = dense(s, this.params, o['interaction.weight'], o['interaction.bias'], S, d);
    const z = new Float64Array(S + 2 * d);
    z.set(s, 0);
    for (let k = 0; k < d; k++) {
      z[S + k] = a[k] as number;
      z[S + d + k] = (a[k] as number) * (v[k] as number);
    }
    const hidden = dense(z, this.params, o['critic.0.weight'], o['critic.0.bias'], S + 2 * d, C);
    for (let j = 0; j < C; j++) if ((hidden[j] as number) < 0) hidden[j] = 0;
    const q = (dense(hidden, this.params, o['critic.1.weight'], o['critic.1.bias'], C, 1)[0] as number) ?? 0;
    return { v, z, hidden, q };
  }

  /**
   * Adds dQ/dθ · dq for the critic's own parameters and the interaction projection to `grad`;
   * returns dQ/ds · dq and dQ/da · dq.
   */
  criticBackward(t: CriticTrace, a: ArrayLike<number>, dq: number, grad: Float32Array | undefined): { ds: Float64Array; da: Float64Array } {
    const { dim: d, criticHidden: C } = this.shape;
    const S = this.stateWidth;
    const o = this.offsets;
    const P = this.params;
    const w4 = o['critic.1.weight'];
    const dh = new Float64Array(C);
    for (let j = 0; j < C; j++) dh[j] = (t.hidden[j] as number) > 0 ? dq * (P[w4 + j] as number) : 0;
    if (grad !== undefined) {
      for (let j = 0; j < C; j++) grad[w4 + j] = (grad[w4 + j] as number) + dq * (t.hidden[j] as number);
      grad[o['critic.1.bias']] = (grad[o['critic.1.bias']] as number) + dq;
    }
    const dz = denseBackward(t.z, dh, P, o['critic.0.weight'], o['critic.0.bias'], S + 2 * d, C, grad);
    const ds = dz.slice(0, S);
    const da = new Float64Array(d);
    const dv = new Float64Array(d);
    for (let k = 0; k < d; k++) {
      da[k] = (dz[S + k] as number) + (dz[S + d + k] as number) * (t.v[k] as number);
      dv[k] = (dz[S + d + k] as number) * (a[k] as number);
    }
    const dsv = denseBackward(t.z.subarray(0, S), dv, P, o['interaction.weight'], o['interaction.bias'], S, d, grad);
    for (let i = 0; i < S; i++) ds[i] = (ds[i] as number) + (dsv[i] as number);
    return { ds, da };
  }

  /** Adds the state module's gradient (per-position weights) for dL/ds to `grad`. */
  stateBackward(t: DrrTrace, ds: Float64Array, grad: Float32Array): void {
    const { stateSize: N, dim: d, kind } = this.shape;
    const dw = new Float64Array(N * d);
    if (kind === 'drr-ave') {
      for (let k = 0; k < d; k++) {
        const dp = (ds[d + k] as number) * (t.u[k] as number) + (ds[2 * d + k] as number);
        for (let l = 0; l < N; l++) dw[l * d + k] = dp;
      }
    } else {
      for (let l = 0; l < N; l++) for (let k = 0; k < d; k++) dw[l * d + k] = kind === 'drr-u' ? (ds[l * d + k] as number) * (t.u[k] as number) : (ds[l * d + k] as number);
      if (kind !== 'drr-n') {
        for (let p = 0; p < this.pairsA.length; p++) {
          const a = (this.pairsA[p] as number) * d;
          const b = (this.pairsB[p] as number) * d;
          const base = (N + p) * d;
          for (let k = 0; k < d; k++) {
            dw[a + k] = (dw[a + k] as number) + (ds[base + k] as number) * (t.weighted[b + k] as number);
            dw[b + k] = (dw[b + k] as number) + (ds[base + k] as number) * (t.weighted[a + k] as number);
          }
        }
      }
    }
    const w = this.offsets['sm.weights'];
    for (let l = 0; l < N; l++) {
      let g = 0;
      for (let k = 0; k < d; k++) g += (dw[l * d + k] as number) * (t.items[l * d + k] as number);
      grad[w + l] = (grad[w + l] as number) + g;
    }
  }

  /** Adds the actor's gradient for dL/da (and dL/draw from a penalty) to `grad`; the state is not moved. */
  actorBackward(t: DrrTrace, da: Float64Array, draw: Float64Array | undefined, grad: Float32Array): void {
    const { dim: d, actorHidden: H } = this.shape;
    const o = this.offsets;
    // a = n / r with r = sqrt(|n|² + ε): dn = da / r − n (n · da) / r³
    let nda = 0;
    for (let k = 0; k < d; k++) nda += (t.n[k] as number) * (da[k] as number);
    const r3 = t.norm ** 3;
    const dpre = new Float64Array(d);
    for (let k = 0; k < d; k++) {
      const dn = (da[k] as number) / t.norm - ((t.n[k] as number) * nda) / r3 + (draw?.[k] ?? 0);
      dpre[k] = dn * (1 - (t.raw[k] as number) ** 2);
    }
    const dh = denseBackward(t.hidden, dpre, this.params, o['actor.1.weight'], o['actor.1.bias'], H, d, grad);
    for (let j = 0; j < H; j++) if ((t.hidden[j] as number) <= 0) dh[j] = 0;
    denseBackward(t.s, dh, this.params, o['actor.0.weight'], o['actor.0.bias'], this.stateWidth, H, grad);
  }
}

/** y = x · W + b with W at `wOff` [inDim, outDim] and b at `bOff`. */
function dense(x: ArrayLike<number>, P: Float32Array, wOff: number, bOff: number, inDim: number, outDim: number): Float64Array {
  const y = new Float64Array(outDim);
  for (let j = 0; j < outDim; j++) y[j] = P[bOff + j] as number;
  for (let i = 0; i < inDim; i++) {
    const xi = x[i] as number;
    if (xi === 0) continue;
    const row = wOff + i * outDim;
    for (let j = 0; j < outDim; j++) y[j] = (y[j] as number) + xi * (P[row + j] as number);
  }
  return y;
}

/** Backward of dense: adds dW = xᵀ dy and db = dy to `grad` (when given); returns dx = dy Wᵀ. */
function denseBackward(
  x: ArrayLike<number>,
  dy: Float64Array,
  P: Float32Array,
  wOff: number,
  bOff: number,
  inDim: number,
  outDim: number,
  grad: Float32Array | undefined,
): Float64Array {
  const dx = new Float64Array(inDim);
  for (let i = 0; i < inDim; i++) {
    const xi = x[i] as number;
    const row = wOff + i * outDim;
    let acc = 0;
    for (let j = 0; j < outDim; j++) {
      const g = dy[j] as number;
      if (g === 0) continue;
      acc += g * (P[row + j] as number);
      if (grad !== undefined && xi !== 0) grad[row + j] = (grad[row + j] as number) + xi * g;
    }
    dx[i] = acc;
  }
  if (grad !== undefined) for (let j = 0; j < outDim; j++) grad[bOff + j] = (grad[bOff + j] as number) + (dy[j] as number);
  return dx;
}
