/**
 * Adam over a whole Float32Array parameter, every element every step (TensorFlow's and PyTorch's
 * dense Adam). The engine's SparseAdam keeps per-row step counts for lazily updated embedding rows;
 * KGCN's whole-table L2 and LightGCN's graph propagation give every row a gradient every step, so
 * one global step count and a flat loop do the same update several times faster.
 */
export class ArrayAdam {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private t = 0;

  constructor(
    readonly values: Float32Array,
    readonly learningRate: number,
    /** adds `l2 · w` to the gradient: the derivative of (l2 / 2)·|w|² (tf.nn.l2_loss times l2) */
    readonly l2 = 0,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-8,
  ) {
    this.m = new Float32Array(values.length);
    this.v = new Float32Array(values.length);
  }

  step(grad: Float32Array): void {
    if (grad.length !== this.values.length) throw new RangeError(`expected ${this.values.length} gradient values, got ${grad.length}`);
    this.t++;
    const { m, v, values: w, beta1, beta2, epsilon, l2 } = this;
    const c1 = 1 - Math.pow(beta1, this.t);
    const c2 = 1 - Math.pow(beta2, this.t);
    const lr = this.learningRate;
    for (let i = 0; i < w.length; i++) {
      const g = grad[i]! + l2 * w[i]!;
      const mi = beta1 * m[i]! + (1 - beta1) * g;
      const vi = beta2 * v[i]! + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      w[i] = w[i]! - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + epsilon);
    }
  }
}
