import type { Rng } from '../../engine/rng.js';

/**
 * A single-layer GRU over typed arrays, forward and backward through time. Written by hand because
 * the DQN trains one tiny recurrent net per replayed batch on 2 CPU cores: tfjs (even wasm) pays a
 * per-op dispatch cost on every one of the ~10 time steps × 3 gates, which dominates at hidden
 * sizes of 16–64, while a flat loop over Float32Arrays does not (the same reasoning as KGCN's
 * ArrayAdam).
 *
 * Weights use ONNX's GRU layout so the exporter can hand them over unchanged:
 * W [3H, I] and R [3H, H] with gate blocks in the order z (update), r (reset), h (candidate), and
 * B [6H] = [Wb_z, Wb_r, Wb_h, Rb_z, Rb_r, Rb_h]. The cell is ONNX's default (linear_before_reset = 0):
 *   z = σ(W_z x + R_z h + Wb_z + Rb_z)
 *   r = σ(W_r x + R_r h + Wb_r + Rb_r)
 *   ĥ = tanh(W_h x + R_h (r ⊙ h) + Wb_h + Rb_h)
 *   h' = (1 − z) ⊙ ĥ + z ⊙ h,   h₀ = 0.
 * A sequence is read left-aligned with a length (padding skipped), which is what ONNX's
 * `sequence_lens` input does.
 */
export class Gru {
  readonly W: Float32Array;
  readonly R: Float32Array;
  readonly B: Float32Array;

  /** `storage`: a flat buffer of `Gru.size(inputSize, hiddenSize)` values the weights live in (a network's parameter vector). */
  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    storage?: Float32Array,
  ) {
    const h = hiddenSize;
    const buf = storage ?? new Float32Array(Gru.size(inputSize, hiddenSize));
    const w = 3 * h * inputSize;
    this.W = buf.subarray(0, w);
    this.R = buf.subarray(w, w + 3 * h * h);
    this.B = buf.subarray(w + 3 * h * h, w + 3 * h * h + 6 * h);
  }

  static size(inputSize: number, hiddenSize: number): number {
    return 3 * hiddenSize * (inputSize + hiddenSize + 2);
  }

  /** Glorot-uniform weights, zero biases (as Keras-style GRUs start). */
  init(rng: Rng): void {
    const h = this.hiddenSize;
    const a = Math.sqrt(6 / (this.inputSize + h));
    for (let k = 0; k < this.W.length; k++) this.W[k] = (2 * rng.next() - 1) * a;
    const c = Math.sqrt(6 / (2 * h));
    for (let k = 0; k < this.R.length; k++) this.R[k] = (2 * rng.next() - 1) * c;
    this.B.fill(0);
  }

  /**
   * Runs the sequence x [len, inputSize] (row t = step t) and returns the final hidden state; with
   * a tape the per-step activations are kept for `backward`.
   */
  forward(x: Float32Array, len: number, tape?: GruTape): Float32Array {
    const H = this.hiddenSize;
    const I = this.inputSize;
    const { W, R, B } = this;
    let h = new Float32Array(H);
    if (tape !== undefined) tape.reset(len);
    const a = new Float64Array(3 * H);
    for (let t = 0; t < len; t++) {
      const xo = t * I;
      // x-parts and h-parts of z and r, and the x-part of ĥ
      for (let g = 0; g < 3 * H; g++) {
        let s = B[g]!;
        const wo = g * I;
        for (let i = 0; i < I; i++) s += W[wo + i]! * x[xo + i]!;
        a[g] = s;
      }
      const z = new Float32Array(H);
      const r = new Float32Array(H);
      for (let j = 0; j < H; j++) {
        let sz = a[j]! + B[3 * H + j]!;
        let sr = a[H + j]! + B[4 * H + j]!;
        const zo = j * H;
        const ro = (H + j) * H;
        for (let k = 0; k < H; k++) {
          sz += R[zo + k]! * h[k]!;
          sr += R[ro + k]! * h[k]!;
        }
        z[j] = 1 / (1 + Math.exp(-sz));
        r[j] = 1 / (1 + Math.exp(-sr));
      }
      const rh = new Float32Array(H);
      for (let k = 0; k < H; k++) rh[k] = r[k]! * h[k]!;
      const cand = new Float32Array(H);
      const next = new Float32Array(H);
      for (let j = 0; j < H; j++) {
        let s = a[2 * H + j]! + B[5 * H + j]!;
        const ho = (2 * H + j) * H;
        for (let k = 0; k < H; k++) s += R[ho + k]! * rh[k]!;
        const c = Math.tanh(s);
        cand[j] = c;
        next[j] = (1 - z[j]!) * c + z[j]! * h[j]!;
      }
      if (tape !== undefined) tape.push(t, h, z, r, rh, cand);
      h = next;
    }
    return h;
  }

  /**
   * Back-propagates dL/dh_final through a taped forward pass of input x, adding into `grad`
   * (layout W, R, B, as in the storage). Inputs are fixed embeddings, so no input gradient is returned.
   */
  backward(x: Float32Array, tape: GruTape, dhFinal: Float32Array, grad: Float32Array): void {
    const H = this.hiddenSize;
    const I = this.inputSize;
    const { R } = this;
    const gW = 0;
    const gR = this.W.length;
    const gB = gR + this.R.length;
    let dh = Float64Array.from(dhFinal);
    const da = new Float64Array(3 * H);
    for (let t = tape.len - 1; t >= 0; t--) {
      const hp = tape.h[t]!;
      const z = tape.z[t]!;
      const r = tape.r[t]!;
      const rh = tape.rh[t]!;
      const c = tape.cand[t]!;
      const dprev = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        const d = dh[j]!;
        dprev[j] = d * z[j]!;
        // z gate pre-activation, candidate pre-activation
        da[j] = d * (hp[j]! - c[j]!) * z[j]! * (1 - z[j]!);
        da[2 * H + j] = d * (1 - z[j]!) * (1 - c[j]! * c[j]!);
      }
      // through R_h (r ⊙ h): d(rh) = R_hᵀ da_h
      const drh = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        const g = da[2 * H + j]!;
        if (g === 0) continue;
        const ho = (2 * H + j) * H;
        for (let k = 0; k < H; k++) {
          drh[k] = drh[k]! + R[ho + k]! * g;
          grad[gR + ho + k] = grad[gR + ho + k]! + g * rh[k]!;
        }
      }
      for (let k = 0; k < H; k++) {
        da[H + k] = drh[k]! * hp[k]! * r[k]! * (1 - r[k]!);
        dprev[k] = dprev[k]! + drh[k]! * r[k]!;
      }
      // z and r through R, and their recurrent-weight gradients
      for (let j = 0; j < 2 * H; j++) {
        const g = da[j]!;
        if (g === 0) continue;
        const o = j * H;
        for (let k = 0; k < H; k++) {
          dprev[k] = dprev[k]! + R[o + k]! * g;
          grad[gR + o + k] = grad[gR + o + k]! + g * hp[k]!;
        }
      }
      const xo = t * I;
      for (let g = 0; g < 3 * H; g++) {
        const v = da[g]!;
        if (v === 0) continue;
        const wo = g * I;
        for (let i = 0; i < I; i++) grad[gW + wo + i] = grad[gW + wo + i]! + v * x[xo + i]!;
        // Wb and Rb enter the same sums, so they share a gradient
        grad[gB + g] = grad[gB + g]! + v;
        grad[gB + 3 * H + g] = grad[gB + 3 * H + g]! + v;
      }
      dh = dprev;
    }
  }
}

/** Per-step activations of one forward pass, reused across calls to avoid garbage. */
export class GruTape {
  len = 0;
  h: Float32Array[] = [];
  z: Float32Array[] = [];
  r: Float32Array[] = [];
  rh: Float32Array[] = [];
  cand: Float32Array[] = [];

  reset(len: number): void {
    this.len = len;
    this.h.length = this.z.length = this.r.length = this.rh.length = this.cand.length = 0;
  }

  push(t: number, h: Float32Array, z: Float32Array, r: Float32Array, rh: Float32Array, cand: Float32Array): void {
    this.h[t] = h;
    this.z[t] = z;
    this.r[t] = r;
    this.rh[t] = rh;
    this.cand[t] = cand;
  }
}
