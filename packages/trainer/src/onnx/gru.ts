import { TastemakerError } from '@tastemaker/core';
import { type GraphBuilder, type Value, attr } from './builder.js';
import { cast, squeeze } from './layers.js';

/**
 * One-direction GRU as the standard ONNX `GRU` operator (opset ≥ 7; gate order z, r, h), for
 * exported state networks (a recommender's history encoder, an RL state module).
 *
 * Weight layout (the operator's own, so the arrays go into the graph unchanged):
 *   w   [3·hidden, input]   rows: z gate, then r gate, then candidate h; x_t · wᵀ
 *   r   [3·hidden, hidden]  the same blocks for h_{t−1} · rᵀ
 *   bw  [3·hidden]          input bias   (ONNX Wb)
 *   br  [3·hidden]          recurrent bias (ONNX Rb)
 *
 *   z_t = σ(x_t·W_zᵀ + h_{t−1}·R_zᵀ + Wb_z + Rb_z)
 *   r_t = σ(x_t·W_rᵀ + h_{t−1}·R_rᵀ + Wb_r + Rb_r)
 *   linearBeforeReset = true  (ONNX linear_before_reset = 1; PyTorch, cuDNN and Keras reset_after):
 *     ĥ_t = tanh(x_t·W_hᵀ + Wb_h + r_t ⊙ (h_{t−1}·R_hᵀ + Rb_h))
 *   linearBeforeReset = false (ONNX default 0; the original Cho et al. form):
 *     ĥ_t = tanh(x_t·W_hᵀ + Wb_h + (r_t ⊙ h_{t−1})·R_hᵀ + Rb_h)
 *   h_t = (1 − z_t) ⊙ ĥ_t + z_t ⊙ h_{t−1},   h_0 = 0
 *
 * Variable length: sequences are RIGHT-padded (oldest first, then padding) and `lengths` gives the
 * number of real steps per row; the operator's `sequence_lens` stops each row there, so Y_h is the
 * state after its last real step, whatever the padding holds. A length of 0 yields h = 0.
 * Left padding was rejected: a padded step still moves the state (biases), so it would need masking
 * inside the recurrence, which the standard operator cannot do.
 *
 * Weights trained in the "x · W" layout the rest of the trainer uses (dense layers: [in, out]) come
 * over with `gruFromInputMajor`.
 */
export interface GruParams {
  inputSize: number;
  hiddenSize: number;
  /** [3·hidden, input], gate blocks z, r, h */
  w: Float32Array;
  /** [3·hidden, hidden], gate blocks z, r, h */
  r: Float32Array;
  /** [3·hidden] */
  bw: Float32Array;
  /** [3·hidden] */
  br: Float32Array;
  linearBeforeReset: boolean;
}

function invalid(message: string, details: Record<string, unknown> = {}): TastemakerError {
  return new TastemakerError('INVALID_ARGUMENT', message, details);
}

export function checkGruParams(p: GruParams, name = 'gru'): void {
  const { inputSize: n, hiddenSize: h } = p;
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(h) || h < 1) {
    throw invalid(`GRU ${name}: inputSize and hiddenSize must be positive integers (got ${n}, ${h}).`, { inputSize: n, hiddenSize: h });
  }
  const want: [string, number, number][] = [
    ['w', p.w.length, 3 * h * n],
    ['r', p.r.length, 3 * h * h],
    ['bw', p.bw.length, 3 * h],
    ['br', p.br.length, 3 * h],
  ];
  for (const [field, got, expected] of want) {
    if (got !== expected) throw invalid(`GRU ${name}: ${field} has ${got} values; input ${n}, hidden ${h} needs ${expected}.`, { field, got, expected });
  }
}

/**
 * Weights in the input-major layout (kernel [input, 3·hidden], recurrentKernel [hidden, 3·hidden],
 * columns in gate blocks z, r, h, as Keras stores them) → the ONNX layout above (a transpose).
 */
export function gruFromInputMajor(args: {
  inputSize: number;
  hiddenSize: number;
  kernel: Float32Array;
  recurrentKernel: Float32Array;
  inputBias: Float32Array;
  recurrentBias: Float32Array;
  linearBeforeReset: boolean;
}): GruParams {
  const { inputSize: n, hiddenSize: h } = args;
  const transpose = (src: Float32Array, rows: number, cols: number, field: string): Float32Array => {
    if (src.length !== rows * cols) throw invalid(`GRU ${field} has ${src.length} values; [${rows}, ${cols}] needs ${rows * cols}.`);
    const out = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = src[i * cols + j] ?? 0;
    return out;
  };
  const p: GruParams = {
    inputSize: n,
    hiddenSize: h,
    w: transpose(args.kernel, n, 3 * h, 'kernel'),
    r: transpose(args.recurrentKernel, h, 3 * h, 'recurrentKernel'),
    bw: Float32Array.from(args.inputBias),
    br: Float32Array.from(args.recurrentBias),
    linearBeforeReset: args.linearBeforeReset,
  };
  checkGruParams(p);
  return p;
}

/**
 * Adds the GRU to `g`. `x` is float32 [batch, seq, input] (batch-major, as a Gather of a
 * [batch, length] history gives it); `lengths` is an int32 or int64 [batch] count of real steps
 * (right padding), or null when every row uses all `seq` steps. Returns the final state
 * [batch, hidden].
 */
export function gru(g: GraphBuilder, x: Value, lengths: Value | null, p: GruParams, name: string): Value {
  checkGruParams(p, name);
  const h = p.hiddenSize;
  const w = g.initializer(`${name}.W`, p.w, [1, 3 * h, p.inputSize]);
  const r = g.initializer(`${name}.R`, p.r, [1, 3 * h, h]);
  const bias = new Float32Array(6 * h);
  bias.set(p.bw, 0);
  bias.set(p.br, 3 * h);
  const b = g.initializer(`${name}.B`, bias, [1, 6 * h]);
  // The `layout` attribute (batch-major X) only exists from opset 14; a Transpose works everywhere.
  const seqMajor = g.op('Transpose', [x], { perm: [1, 0, 2] }, { name: `${name}_seq_major` });
  const seqLens = lengths ? (lengths.dtype === 'int32' ? lengths : cast(g, lengths, 'int32')) : null;
  const [, yH] = g.opMulti(
    'GRU',
    seqLens ? [seqMajor, w, r, b, seqLens] : [seqMajor, w, r, b],
    2,
    { hidden_size: h, linear_before_reset: attr.int(p.linearBeforeReset ? 1 : 0) },
    { name },
  );
  if (!yH) throw new TastemakerError('INTERNAL', 'GRU returned no Y_h.');
  // Y_h is [num_directions = 1, batch, hidden].
  return squeeze(g, yH, [0]);
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/**
 * The same computation in JavaScript: `x` [batch, seq, input] row-major, `lengths[b]` real steps
 * (default all). Returns the final states [batch, hidden]. Parity tests and trainers' reference
 * scoring use it.
 */
export function gruForward(p: GruParams, x: Float32Array, batch: number, seq: number, lengths?: ArrayLike<number>): Float32Array {
  checkGruParams(p);
  const n = p.inputSize;
  const hs = p.hiddenSize;
  if (x.length !== batch * seq * n) throw invalid(`GRU input has ${x.length} values; [${batch}, ${seq}, ${n}] needs ${batch * seq * n}.`);
  const out = new Float32Array(batch * hs);
  const gx = new Float64Array(3 * hs);
  const gh = new Float64Array(3 * hs);
  const hPrev = new Float64Array(hs);
  for (let b = 0; b < batch; b++) {
    hPrev.fill(0);
    const steps = Math.min(seq, Math.max(0, lengths ? (lengths[b] ?? seq) : seq));
    for (let t = 0; t < steps; t++) {
      const xo = (b * seq + t) * n;
      for (let j = 0; j < 3 * hs; j++) {
        let sx = p.bw[j] ?? 0;
        for (let k = 0; k < n; k++) sx += (p.w[j * n + k] ?? 0) * (x[xo + k] ?? 0);
        gx[j] = sx;
        let sh = p.br[j] ?? 0;
        if (j < 2 * hs || p.linearBeforeReset) for (let k = 0; k < hs; k++) sh += (p.r[j * hs + k] ?? 0) * (hPrev[k] ?? 0);
        gh[j] = sh;
      }
      const rGate = new Float64Array(hs);
      for (let j = 0; j < hs; j++) rGate[j] = sigmoid((gx[hs + j] ?? 0) + (gh[hs + j] ?? 0));
      const next = new Float64Array(hs);
      for (let j = 0; j < hs; j++) {
        const z = sigmoid((gx[j] ?? 0) + (gh[j] ?? 0));
        const rj = rGate[j] ?? 0;
        let cand: number;
        if (p.linearBeforeReset) {
          cand = (gx[2 * hs + j] ?? 0) + rj * (gh[2 * hs + j] ?? 0);
        } else {
          let s = gh[2 * hs + j] ?? 0;
          for (let k = 0; k < hs; k++) s += (p.r[(2 * hs + j) * hs + k] ?? 0) * (rGate[k] ?? 0) * (hPrev[k] ?? 0);
          cand = (gx[2 * hs + j] ?? 0) + s;
        }
        next[j] = (1 - z) * Math.tanh(cand) + z * (hPrev[j] ?? 0);
      }
      hPrev.set(next);
    }
    for (let j = 0; j < hs; j++) out[b * hs + j] = hPrev[j] ?? 0;
  }
  return out;
}
