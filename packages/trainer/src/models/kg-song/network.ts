import type { Rng } from '../../engine/rng.js';
import type { GruParams } from '../../onnx/gru.js';

/**
 * kg-song's network, forward and backward by hand over typed arrays.
 *
 * Why not tfjs: the GCN propagates over the whole entity graph (a scatter-mean per layer) and the
 * GRU reads its inputs from the GCN's output through the users' histories; on wasm neither the
 * gather nor the scatter has a gradient, and the engine's embedding-table route cannot reach the
 * entity table through the graph. The network is small (dim 16, ~10 k entities on Last.FM), so
 * flat loops run a step in milliseconds; kg-song.test.ts checks the backward pass against finite
 * differences.
 *
 *   GCN (mean aggregation over the undirected KG, all neighbours), for k = 1…hops:
 *     h_e^k = ReLU(mean_{n∈N(e)} h_n^{k−1} · W_k + h_e^{k−1} · B_k + b_k)    (an isolated entity: mean = 0)
 *   item embedding z_i = h^{hops} of the item's entity (hops = 0: the raw entity row, the no-KG ablation)
 *   state s = GRU over z of the user's history (oldest first, the last `historyLength` items; ONNX
 *     layout, linear_before_reset = 1, h_0 = 0; an empty history gives s = 0)
 *   logit = MLP([s, z_i, s ⊙ z_i]): ReLU hidden layers, linear output of width 1. The product
 *     block gives the MLP the user × item interaction directly, which a plain concatenation
 *     learns poorly (Rendle et al. 2020).
 */

export interface DenseWeights {
  inputDim: number;
  outputDim: number;
  /** [inputDim, outputDim]; y = x · W + b */
  weight: Float32Array;
  bias: Float32Array;
}

export interface GcnLayer {
  /** neighbour-mean weight W_k [dim, dim] */
  neighbor: Float32Array;
  /** self weight B_k [dim, dim] */
  self: Float32Array;
  bias: Float32Array;
}

/** The undirected KG as compressed rows (neighbours only; mean aggregation ignores relation ids). */
export interface EntityGraph {
  entityCount: number;
  indptr: Int32Array;
  neighbors: Int32Array;
}

export interface KgSongWeights {
  nItems: number;
  dim: number;
  graph: EntityGraph;
  itemEntity: Int32Array;
  /** [entityCount, dim] */
  entity: Float32Array;
  gcn: GcnLayer[];
  /** the last GCN layer without ReLU (`--set gcnOutput=linear`); the seed's form is ReLU on every layer */
  gcnLinearOutput: boolean;
  /** item embedding = GCN output + the item's own entity row (`--set residual=true`) */
  residual: boolean;
  /** inputSize = hiddenSize = dim, linearBeforeReset = true */
  gru: GruParams;
  /** hidden layers (ReLU) then the output layer (width 1, linear) */
  mlp: DenseWeights[];
}

function glorot(rng: Rng, fanIn: number, fanOut: number, n: number): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return Float32Array.from({ length: n }, () => (2 * rng.next() - 1) * limit);
}

export function initKgSongWeights(
  args: { nItems: number; dim: number; hops: number; mlp: readonly number[]; graph: EntityGraph; itemEntity: Int32Array; gcnLinearOutput?: boolean; residual?: boolean },
  rng: Rng,
): KgSongWeights {
  const d = args.dim;
  const nE = args.graph.entityCount;
  const gcn: GcnLayer[] = [];
  for (let k = 0; k < args.hops; k++) {
    gcn.push({ neighbor: glorot(rng, d, d, d * d), self: glorot(rng, d, d, d * d), bias: new Float32Array(d) });
  }
  // PyTorch's GRU initialisation: U(−1/√H, 1/√H) for every weight and bias
  const s = 1 / Math.sqrt(d);
  const u = (n: number): Float32Array => Float32Array.from({ length: n }, () => (2 * rng.next() - 1) * s);
  const gru: GruParams = { inputSize: d, hiddenSize: d, w: u(3 * d * d), r: u(3 * d * d), bw: u(3 * d), br: u(3 * d), linearBeforeReset: true };
  const mlp: DenseWeights[] = [];
  let inputDim = 3 * d;
  for (const width of [...args.mlp, 1]) {
    mlp.push({ inputDim, outputDim: width, weight: glorot(rng, inputDim, width, inputDim * width), bias: new Float32Array(width) });
    inputDim = width;
  }
  return {
    nItems: args.nItems,
    dim: d,
    graph: args.graph,
    itemEntity: args.itemEntity,
    entity: glorot(rng, nE, d, nE * d),
    gcn,
    gcnLinearOutput: args.gcnLinearOutput ?? false,
    residual: args.residual ?? false,
    gru,
    mlp,
  };
}

/** Gradients shaped like the trainable arrays of KgSongWeights. */
export interface KgSongGradients {
  entity: Float32Array;
  gcn: GcnLayer[];
  gru: { w: Float32Array; r: Float32Array; bw: Float32Array; br: Float32Array };
  mlp: { weight: Float32Array; bias: Float32Array }[];
}

export function zeroGradients(w: KgSongWeights): KgSongGradients {
  return {
    entity: new Float32Array(w.entity.length),
    gcn: w.gcn.map((l) => ({ neighbor: new Float32Array(l.neighbor.length), self: new Float32Array(l.self.length), bias: new Float32Array(l.bias.length) })),
    gru: { w: new Float32Array(w.gru.w.length), r: new Float32Array(w.gru.r.length), bw: new Float32Array(w.gru.bw.length), br: new Float32Array(w.gru.br.length) },
    mlp: w.mlp.map((l) => ({ weight: new Float32Array(l.weight.length), bias: new Float32Array(l.bias.length) })),
  };
}

/** Every (parameter, gradient) pair, for the optimiser and for finite-difference tests. */
export function parameterPairs(w: KgSongWeights, g: KgSongGradients): [Float32Array, Float32Array][] {
  const pairs: [Float32Array, Float32Array][] = [[w.entity, g.entity]];
  w.gcn.forEach((l, k) => {
    const gl = g.gcn[k]!;
    pairs.push([l.neighbor, gl.neighbor], [l.self, gl.self], [l.bias, gl.bias]);
  });
  pairs.push([w.gru.w, g.gru.w], [w.gru.r, g.gru.r], [w.gru.bw, g.gru.bw], [w.gru.br, g.gru.br]);
  w.mlp.forEach((l, k) => pairs.push([l.weight, g.mlp[k]!.weight], [l.bias, g.mlp[k]!.bias]));
  return pairs;
}

/** Activations of one GCN forward pass, kept for the backward pass. */
export interface GcnCache {
  /** h^0 … h^hops, each [entityCount, dim] (h^0 is the entity table itself) */
  h: Float32Array[];
  /** neighbour means m^1 … m^hops, each [entityCount, dim] */
  mean: Float32Array[];
  /** item embeddings [nItems, dim] */
  items: Float32Array;
}

export function gcnForward(w: KgSongWeights): GcnCache {
  const d = w.dim;
  const { entityCount: nE, indptr, neighbors } = w.graph;
  const h: Float32Array[] = [w.entity];
  const mean: Float32Array[] = [];
  const acc = new Float64Array(d);
  for (const [k, layer] of w.gcn.entries()) {
    const linear = w.gcnLinearOutput && k === w.gcn.length - 1;
    const prev = h[h.length - 1]!;
    const m = new Float32Array(nE * d);
    for (let e = 0; e < nE; e++) {
      const start = indptr[e]!;
      const end = indptr[e + 1]!;
      if (end === start) continue;
      acc.fill(0);
      for (let s = start; s < end; s++) {
        const o = neighbors[s]! * d;
        for (let c = 0; c < d; c++) acc[c]! += prev[o + c]!;
      }
      const inv = 1 / (end - start);
      for (let c = 0; c < d; c++) m[e * d + c] = acc[c]! * inv;
    }
    const next = new Float32Array(nE * d);
    const { neighbor: W, self: B, bias } = layer;
    for (let e = 0; e < nE; e++) {
      const o = e * d;
      for (let j = 0; j < d; j++) {
        let a = bias[j]!;
        for (let c = 0; c < d; c++) a += m[o + c]! * W[c * d + j]! + prev[o + c]! * B[c * d + j]!;
        next[o + j] = linear || a > 0 ? a : 0;
      }
    }
    mean.push(m);
    h.push(next);
  }
  const last = h[h.length - 1]!;
  const items = new Float32Array(w.nItems * d);
  for (let i = 0; i < w.nItems; i++) items.set(last.subarray(w.itemEntity[i]! * d, w.itemEntity[i]! * d + d), i * d);
  if (w.residual && w.gcn.length > 0) {
    for (let i = 0; i < w.nItems; i++) {
      const o = w.itemEntity[i]! * d;
      for (let c = 0; c < d; c++) items[i * d + c]! += w.entity[o + c]!;
    }
  }
  return { h, mean, items };
}

/** Accumulates into `g` the gradient of the loss given dL/d(item embeddings) [nItems, dim]. */
export function gcnBackward(w: KgSongWeights, cache: GcnCache, dItems: Float32Array, g: KgSongGradients): void {
  const d = w.dim;
  const { entityCount: nE, indptr, neighbors } = w.graph;
  let dh = new Float32Array(nE * d);
  for (let i = 0; i < w.nItems; i++) {
    const o = w.itemEntity[i]! * d;
    for (let c = 0; c < d; c++) dh[o + c]! += dItems[i * d + c]!;
    if (w.residual && w.gcn.length > 0) for (let c = 0; c < d; c++) g.entity[o + c]! += dItems[i * d + c]!;
  }
  const da = new Float64Array(d);
  for (let k = w.gcn.length - 1; k >= 0; k--) {
    const layer = w.gcn[k]!;
    const gl = g.gcn[k]!;
    const out = cache.h[k + 1]!;
    const prev = cache.h[k]!;
    const m = cache.mean[k]!;
    const dPrev = new Float32Array(nE * d);
    const dMean = new Float32Array(d);
    const linear = w.gcnLinearOutput && k === w.gcn.length - 1;
    for (let e = 0; e < nE; e++) {
      const o = e * d;
      let any = false;
      for (let j = 0; j < d; j++) {
        const v = linear || out[o + j]! > 0 ? dh[o + j]! : 0;
        da[j] = v;
        if (v !== 0) any = true;
      }
      if (!any) continue;
      for (let j = 0; j < d; j++) gl.bias[j]! += da[j]!;
      const start = indptr[e]!;
      const end = indptr[e + 1]!;
      for (let c = 0; c < d; c++) {
        const mc = m[o + c]!;
        const pc = prev[o + c]!;
        let sm = 0;
        let sp = 0;
        for (let j = 0; j < d; j++) {
          const a = da[j]!;
          gl.neighbor[c * d + j]! += mc * a;
          gl.self[c * d + j]! += pc * a;
          sm += layer.neighbor[c * d + j]! * a;
          sp += layer.self[c * d + j]! * a;
        }
        dPrev[o + c]! += sp;
        dMean[c] = sm;
      }
      if (end > start) {
        const inv = 1 / (end - start);
        for (let s = start; s < end; s++) {
          const on = neighbors[s]! * d;
          for (let c = 0; c < d; c++) dPrev[on + c]! += dMean[c]! * inv;
        }
      }
    }
    dh = dPrev;
  }
  for (let q = 0; q < dh.length; q++) g.entity[q]! += dh[q]!;
}

/** One GRU run over a history, with what the backward pass needs. */
export interface GruTrace {
  steps: number;
  /** inputs [steps, dim] */
  x: Float64Array;
  /** state before each step [steps, dim] */
  hPrev: Float64Array;
  z: Float64Array;
  r: Float64Array;
  /** candidate ĥ */
  n: Float64Array;
  /** h·R_hᵀ + Rb_h, which the reset gate scales (linear_before_reset) */
  ghn: Float64Array;
  /** final state [dim] */
  h: Float64Array;
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** GRU over the item embeddings `items` of `history` (oldest first). */
export function gruRun(w: KgSongWeights, items: Float32Array, history: ArrayLike<number>): GruTrace {
  const d = w.dim;
  const T = history.length;
  const { w: W, r: R, bw, br } = w.gru;
  const tr: GruTrace = {
    steps: T,
    x: new Float64Array(T * d),
    hPrev: new Float64Array(T * d),
    z: new Float64Array(T * d),
    r: new Float64Array(T * d),
    n: new Float64Array(T * d),
    ghn: new Float64Array(T * d),
    h: new Float64Array(d),
  };
  const h = tr.h;
  const gx = new Float64Array(3 * d);
  const gh = new Float64Array(3 * d);
  for (let t = 0; t < T; t++) {
    const xo = history[t]! * d;
    const o = t * d;
    for (let c = 0; c < d; c++) tr.x[o + c] = items[xo + c]!;
    tr.hPrev.set(h, o);
    for (let j = 0; j < 3 * d; j++) {
      let sx = bw[j]!;
      let sh = br[j]!;
      const row = j * d;
      for (let c = 0; c < d; c++) {
        sx += W[row + c]! * tr.x[o + c]!;
        sh += R[row + c]! * h[c]!;
      }
      gx[j] = sx;
      gh[j] = sh;
    }
    for (let j = 0; j < d; j++) {
      const z = sigmoid(gx[j]! + gh[j]!);
      const r = sigmoid(gx[d + j]! + gh[d + j]!);
      const n = Math.tanh(gx[2 * d + j]! + r * gh[2 * d + j]!);
      tr.z[o + j] = z;
      tr.r[o + j] = r;
      tr.n[o + j] = n;
      tr.ghn[o + j] = gh[2 * d + j]!;
    }
    for (let j = 0; j < d; j++) h[j] = (1 - tr.z[o + j]!) * tr.n[o + j]! + tr.z[o + j]! * h[j]!;
  }
  return tr;
}

/**
 * Backward through a GRU run given dL/d(final state): accumulates the GRU's weight gradients into
 * `g` and dL/d(input item embeddings) into `dItems` [nItems, dim].
 */
export function gruBackward(w: KgSongWeights, tr: GruTrace, history: ArrayLike<number>, dState: Float64Array, g: KgSongGradients, dItems: Float32Array): void {
  const d = w.dim;
  const { w: W, r: R } = w.gru;
  const dh = Float64Array.from(dState);
  const dgx = new Float64Array(3 * d);
  const dgh = new Float64Array(3 * d);
  for (let t = tr.steps - 1; t >= 0; t--) {
    const o = t * d;
    for (let j = 0; j < d; j++) {
      const z = tr.z[o + j]!;
      const r = tr.r[o + j]!;
      const n = tr.n[o + j]!;
      const hp = tr.hPrev[o + j]!;
      const dhj = dh[j]!;
      const dan = dhj * (1 - z) * (1 - n * n);
      const daz = dhj * (hp - n) * z * (1 - z);
      const dar = dan * tr.ghn[o + j]! * r * (1 - r);
      dgx[j] = daz;
      dgh[j] = daz;
      dgx[d + j] = dar;
      dgh[d + j] = dar;
      dgx[2 * d + j] = dan;
      dgh[2 * d + j] = dan * r;
      dh[j] = dhj * z;
    }
    const xo = history[t]! * d;
    for (let j = 0; j < 3 * d; j++) {
      const a = dgx[j]!;
      const b = dgh[j]!;
      g.gru.bw[j]! += a;
      g.gru.br[j]! += b;
      const row = j * d;
      for (let c = 0; c < d; c++) {
        g.gru.w[row + c]! += a * tr.x[o + c]!;
        g.gru.r[row + c]! += b * tr.hPrev[o + c]!;
        dItems[xo + c]! += a * W[row + c]!;
        dh[c]! += b * R[row + c]!;
      }
    }
  }
}

/** Activations of one MLP evaluation (input and every layer's output). */
export class MlpWorkspace {
  readonly acts: Float64Array[];

  constructor(readonly w: KgSongWeights) {
    this.acts = [new Float64Array(3 * w.dim), ...w.mlp.map((l) => new Float64Array(l.outputDim))];
  }

  /** The logit for state `s` and item embedding `z` (at `zOffset` in `items`). */
  forward(s: ArrayLike<number>, items: Float32Array, zOffset: number): number {
    const d = this.w.dim;
    const x = this.acts[0]!;
    for (let c = 0; c < d; c++) {
      const sc = s[c]!;
      const zc = items[zOffset + c]!;
      x[c] = sc;
      x[d + c] = zc;
      x[2 * d + c] = sc * zc;
    }
    const layers = this.w.mlp;
    for (let k = 0; k < layers.length; k++) {
      const { inputDim, outputDim, weight, bias } = layers[k]!;
      const inp = this.acts[k]!;
      const out = this.acts[k + 1]!;
      const last = k === layers.length - 1;
      for (let j = 0; j < outputDim; j++) {
        let a = bias[j]!;
        for (let c = 0; c < inputDim; c++) a += inp[c]! * weight[c * outputDim + j]!;
        out[j] = last || a > 0 ? a : 0;
      }
    }
    return this.acts[layers.length]![0]!;
  }

  /**
   * Backward of the last `forward` given dL/dlogit: weight gradients into `g`, dL/ds into `dState`,
   * dL/dz into `dItems` at `zOffset`.
   */
  backward(dLogit: number, g: KgSongGradients, dState: Float64Array, dItems: Float32Array, zOffset: number): void {
    const d = this.w.dim;
    const layers = this.w.mlp;
    let dOut = new Float64Array([dLogit]);
    for (let k = layers.length - 1; k >= 0; k--) {
      const { inputDim, outputDim, weight } = layers[k]!;
      const gl = g.mlp[k]!;
      const inp = this.acts[k]!;
      const dIn = new Float64Array(inputDim);
      for (let j = 0; j < outputDim; j++) {
        const a = dOut[j]!;
        if (a === 0) continue;
        gl.bias[j]! += a;
        for (let c = 0; c < inputDim; c++) {
          gl.weight[c * outputDim + j]! += inp[c]! * a;
          dIn[c]! += weight[c * outputDim + j]! * a;
        }
      }
      // ReLU of the layer below (the input block is not activated)
      if (k > 0) for (let c = 0; c < inputDim; c++) if (!(inp[c]! > 0)) dIn[c] = 0;
      dOut = dIn;
    }
    const x = this.acts[0]!;
    for (let c = 0; c < d; c++) {
      const dp = dOut[2 * d + c]!;
      dState[c]! += dOut[c]! + dp * x[d + c]!;
      dItems[zOffset + c]! += dOut[d + c]! + dp * x[c]!;
    }
  }
}
