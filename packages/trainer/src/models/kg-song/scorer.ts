import type { KgSongWeights } from './network.js';

/**
 * Scores one state against many items. The first MLP layer on [s, z, s ⊙ z] is split as
 * s·W_s + b (once per user) plus z·(W_z + diag(s)·W_p) (a [dim, width] matrix, once per user), so
 * an item costs dim × width multiply-adds instead of 3·dim × width; scoring every item for every
 * user (the offline protocols) is then a few seconds on Last.FM.
 */
export class StateScorer {
  private readonly base: Float64Array;
  private readonly itemW: Float64Array;
  private readonly acts: Float64Array[];

  constructor(
    private readonly w: KgSongWeights,
    state: ArrayLike<number>,
  ) {
    const d = w.dim;
    const first = w.mlp[0]!;
    const width = first.outputDim;
    this.base = new Float64Array(width);
    this.itemW = new Float64Array(d * width);
    for (let j = 0; j < width; j++) {
      let a = first.bias[j]!;
      for (let c = 0; c < d; c++) a += state[c]! * first.weight[c * width + j]!;
      this.base[j] = a;
    }
    for (let c = 0; c < d; c++) {
      for (let j = 0; j < width; j++) this.itemW[c * width + j] = first.weight[(d + c) * width + j]! + state[c]! * first.weight[(2 * d + c) * width + j]!;
    }
    this.acts = w.mlp.map((l) => new Float64Array(l.outputDim));
  }

  /** The logit of the item whose embedding starts at `offset` in `items`. */
  score(items: Float32Array, offset: number): number {
    const d = this.w.dim;
    const layers = this.w.mlp;
    const h0 = this.acts[0]!;
    const width = h0.length;
    h0.set(this.base);
    for (let c = 0; c < d; c++) {
      const zc = items[offset + c]!;
      if (zc === 0) continue;
      const row = c * width;
      for (let j = 0; j < width; j++) h0[j]! += zc * this.itemW[row + j]!;
    }
    if (layers.length > 1) for (let j = 0; j < width; j++) if (!(h0[j]! > 0)) h0[j] = 0;
    for (let k = 1; k < layers.length; k++) {
      const { inputDim, outputDim, weight, bias } = layers[k]!;
      const inp = this.acts[k - 1]!;
      const out = this.acts[k]!;
      const last = k === layers.length - 1;
      for (let j = 0; j < outputDim; j++) {
        let a = bias[j]!;
        for (let c = 0; c < inputDim; c++) a += inp[c]! * weight[c * outputDim + j]!;
        out[j] = last || a > 0 ? a : 0;
      }
    }
    return this.acts[layers.length - 1]![0]!;
  }
}
