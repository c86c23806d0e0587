/**
 * Gradient definitions for the kernels the training engine differentiates.
 *
 * tfjs-core ships its gradient configs only as loose ESM files (dist/register_all_gradients.js)
 * that the union package @tensorflow/tfjs bundles; neither the CJS build that Node loads nor any
 * other bundle of bare tfjs-core registers them, so tf.grads fails with "gradient function not
 * found". These follow tfjs-core's own definitions (Apache-2.0) for the handful of kernels our
 * towers use, written with functional ops, and are registered only where nothing registered one
 * already (e.g. when @tensorflow/tfjs or tfjs-node is loaded too).
 */
import * as tf from '@tensorflow/tfjs-core';

type Saved = tf.Tensor[];
type Derivatives = Record<string, () => tf.Tensor>;

/** A GradConfig from a gradient of a single-output kernel (tfjs types `dy` as possibly a list). */
function config(
  kernelName: string,
  save: Pick<tf.GradConfig, 'inputsToSave' | 'saveAllInputs' | 'outputsToSave'>,
  grad: (dy: tf.Tensor, saved: Saved, attrs: tf.NamedAttrMap) => Derivatives,
): tf.GradConfig {
  return {
    kernelName,
    ...save,
    gradFunc: (dy, s, attrs) => {
      const d = Array.isArray(dy) ? dy[0] : dy;
      if (d === undefined) throw new Error(`gradient of ${kernelName}: no upstream gradient`);
      return grad(d, s, attrs);
    },
  };
}

/**
 * tf.matMul, with transposes done as explicit copies on the portable backends: measured on wasm
 * (XNNPACK) a [512,64]·[1024,64]ᵀ product with transposeB takes ~35 ms against ~4 ms for transpose
 * + plain product, and transposeA is ~25x slower still. TensorFlow's native kernels take the flags
 * at no cost, so they get them.
 */
export function matMul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  if (tf.getBackend() === 'tensorflow') return tf.matMul(a, b, transposeA, transposeB);
  return tf.tidy(() => tf.matMul(transposeA ? swapLastAxes(a) : a, transposeB ? swapLastAxes(b) : b));
}

function swapLastAxes(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  const n = perm.length;
  perm[n - 1] = n - 2;
  perm[n - 2] = n - 1;
  return tf.transpose(x, perm);
}

/** Axes of `outShape` that broadcasting expanded from `inShape` (right-aligned), to sum back over. */
function reductionAxes(inShape: readonly number[], outShape: readonly number[]): number[] {
  const axes: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    const inDim = inShape[inShape.length - 1 - i];
    const outAxis = outShape.length - 1 - i;
    const outDim = outShape[outAxis] as number;
    if (inDim === undefined || (inDim === 1 && outDim > 1)) axes.unshift(outAxis);
  }
  return axes;
}

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - 1 - i] ?? 1;
    const db = b[b.length - 1 - i] ?? 1;
    out[n - 1 - i] = da === 1 ? db : da;
  }
  return out;
}

/** Sums `g` over the broadcast axes so it has `x`'s shape. */
function unbroadcast(g: tf.Tensor, x: tf.Tensor, outShape: readonly number[]): tf.Tensor {
  const axes = reductionAxes(x.shape, outShape);
  return tf.reshape(axes.length > 0 ? tf.sum(g, axes) : g, x.shape);
}

function normaliseAxes(axis: tf.NamedAttrMap[string] | undefined, rank: number): number[] {
  if (axis == null) return Array.from({ length: rank }, (_, i) => i);
  const list = Array.isArray(axis) ? axis.map(Number) : [Number(axis)];
  return list.map((a) => (a < 0 ? a + rank : a));
}

function saved(s: Saved, i: number): tf.Tensor {
  const t = s[i];
  if (t === undefined) throw new Error(`gradient: saved tensor ${i} missing`);
  return t;
}

const CONFIGS: tf.GradConfig[] = [
  config(tf.Add, { inputsToSave: ['a', 'b'] }, (dy: tf.Tensor, s: Saved) => {
    const [a, b] = [saved(s, 0), saved(s, 1)];
    const out = broadcastShape(a.shape, b.shape);
    return { a: () => unbroadcast(dy, a, out), b: () => unbroadcast(dy, b, out) };
  }),
  config(tf.Sub, { inputsToSave: ['a', 'b'] }, (dy: tf.Tensor, s: Saved) => {
    const [a, b] = [saved(s, 0), saved(s, 1)];
    const out = broadcastShape(a.shape, b.shape);
    return { a: () => unbroadcast(dy, a, out), b: () => tf.neg(unbroadcast(dy, b, out)) };
  }),
  config(tf.Multiply, { inputsToSave: ['a', 'b'] }, (dy: tf.Tensor, s: Saved) => {
    const [a, b] = [saved(s, 0), saved(s, 1)];
    const out = broadcastShape(a.shape, b.shape);
    return { a: () => unbroadcast(tf.mul(dy, b), a, out), b: () => unbroadcast(tf.mul(dy, a), b, out) };
  }),
  config(tf.RealDiv, { inputsToSave: ['a', 'b'] }, (dy: tf.Tensor, s: Saved) => {
    const [a, b] = [saved(s, 0), saved(s, 1)];
    const out = broadcastShape(a.shape, b.shape);
    return {
      a: () => unbroadcast(tf.div(dy, b), a, out),
      b: () => tf.neg(tf.div(unbroadcast(tf.mul(dy, a), b, out), tf.square(b))),
    };
  }),
  config(tf.Maximum, { inputsToSave: ['a', 'b'] }, (dy: tf.Tensor, s: Saved) => {
    const [a, b] = [saved(s, 0), saved(s, 1)];
    const out = broadcastShape(a.shape, b.shape);
    return {
      a: () => unbroadcast(tf.mul(dy, tf.cast(tf.greaterEqual(a, b), 'float32')), a, out),
      b: () => unbroadcast(tf.mul(dy, tf.cast(tf.less(a, b), 'float32')), b, out),
    };
  }),
  config(tf.Neg, {}, (dy: tf.Tensor) => ({ x: () => tf.neg(dy) })),
  config(tf.Identity, {}, (dy: tf.Tensor) => ({ x: () => tf.clone(dy) })),
  config(tf.Reshape, { inputsToSave: ['x'] }, (dy: tf.Tensor, s: Saved) => ({ x: () => tf.reshape(dy, saved(s, 0).shape) })),
  config(tf.BatchMatMul, { inputsToSave: ['a', 'b'] }, (dy: tf.Tensor, s: Saved, attrs: tf.NamedAttrMap) => {
    const [a, b] = [saved(s, 0), saved(s, 1)];
    const transposeA = attrs.transposeA === true;
    const transposeB = attrs.transposeB === true;
    if (!transposeA && !transposeB) return { a: () => matMul(dy, b, false, true), b: () => matMul(a, dy, true, false) };
    if (!transposeA && transposeB) return { a: () => matMul(dy, b, false, false), b: () => matMul(dy, a, true, false) };
    if (transposeA && !transposeB) return { a: () => matMul(b, dy, false, true), b: () => matMul(a, dy, false, false) };
    return { a: () => matMul(b, dy, true, true), b: () => matMul(dy, a, true, true) };
  }),
  config(tf.Transpose, {}, (dy: tf.Tensor, _s: Saved, attrs: tf.NamedAttrMap) => {
    const perm = attrs.perm as number[];
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => {
      inverse[p] = i;
    });
    return { x: () => tf.transpose(dy, inverse) };
  }),
  config(tf.Concat, { saveAllInputs: true }, (dy: tf.Tensor, s: Saved, attrs: tf.NamedAttrMap) => {
    const first = saved(s, 0);
    const rawAxis = Number(Array.isArray(attrs.axis) ? attrs.axis[0] : attrs.axis);
    const axis = rawAxis < 0 ? rawAxis + first.rank : rawAxis;
    const parts = tf.split(dy, s.map((t) => t.shape[axis] as number), axis);
    return Object.fromEntries(parts.map((p, i) => [String(i), () => p]));
  }),
  config(tf.Sum, { inputsToSave: ['x'] }, (dy: tf.Tensor, s: Saved, attrs: tf.NamedAttrMap) => {
    const x = saved(s, 0);
    const axes = normaliseAxes(attrs.axis, x.rank);
    const expanded = x.shape.slice();
    for (const a of axes) expanded[a] = 1;
    return { x: () => tf.mul(tf.reshape(dy, expanded), tf.ones(x.shape, 'float32')) };
  }),
  config(tf.Mean, { inputsToSave: ['x'] }, (dy: tf.Tensor, s: Saved, attrs: tf.NamedAttrMap) => {
    const x = saved(s, 0);
    const axes = normaliseAxes(attrs.axis, x.rank);
    const expanded = x.shape.slice();
    let count = 1;
    for (const a of axes) {
      count *= x.shape[a] as number;
      expanded[a] = 1;
    }
    return { x: () => tf.div(tf.mul(tf.reshape(dy, expanded), tf.ones(x.shape, 'float32')), count) };
  }),
  config(tf.Square, { inputsToSave: ['x'] }, (dy: tf.Tensor, s: Saved) => ({ x: () => tf.mul(dy, tf.mul(saved(s, 0), 2)) })),
  config(tf.Sqrt, { inputsToSave: ['x'] }, (dy: tf.Tensor, s: Saved) => ({ x: () => tf.div(dy, tf.mul(tf.sqrt(saved(s, 0)), 2)) })),
  config(tf.Exp, { outputsToSave: [true] }, (dy: tf.Tensor, s: Saved) => ({ x: () => tf.mul(dy, saved(s, 0)) })),
  config(tf.Log, { inputsToSave: ['x'] }, (dy: tf.Tensor, s: Saved) => ({ x: () => tf.div(dy, saved(s, 0)) })),
  config(tf.Relu, { inputsToSave: ['x'] }, (dy: tf.Tensor, s: Saved) => ({ x: () => tf.mul(dy, tf.step(saved(s, 0))) })),
  config(tf.Tanh, { outputsToSave: [true] }, (dy: tf.Tensor, s: Saved) => ({ x: () => tf.mul(tf.sub(1, tf.square(saved(s, 0))), dy) })),
  config(tf.Sigmoid, { outputsToSave: [true] }, (dy: tf.Tensor, s: Saved) => {
    const y = saved(s, 0);
    return { x: () => tf.mul(dy, tf.mul(y, tf.sub(1, y))) };
  }),
  config(tf.Softplus, { inputsToSave: ['x'] }, (dy: tf.Tensor, s: Saved) => ({ x: () => tf.mul(dy, tf.sigmoid(saved(s, 0))) })),
  config(tf.Cast, { inputsToSave: ['x'] }, (dy: tf.Tensor) => ({ x: () => tf.clone(dy) })),
];

/** Kernels whose gradients `ensureGradients` provides: the ops the engine's models may use. */
export const DIFFERENTIABLE_KERNELS: readonly string[] = CONFIGS.map((c) => c.kernelName);

let ensured = false;

/** Registers the engine's gradient definitions where none exists yet; cheap after the first call. */
export function ensureGradients(): void {
  if (ensured) return;
  for (const config of CONFIGS) {
    if (tf.getGradient(config.kernelName) === undefined) tf.registerGradient(config);
  }
  ensured = true;
}
