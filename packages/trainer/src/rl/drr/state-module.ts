/**
 * DRR's state representation modules (Liu et al., "Deep Reinforcement Learning based Recommendation
 * with Explicit User-Item Interactions Modeling", §3.3). Input: the user's embedding u [B, d] and
 * the state's item embeddings H flattened to [B, N·d] (oldest first, zero rows for padding).
 *
 *   drr-n    s = [w_1 H_1, …, w_N H_N]                                   N·d
 *   drr-p    s = [w_l H_l]_l ++ [w_a H_a ⊙ w_b H_b]_{a<b}                 (N + N(N−1)/2)·d
 *   drr-u    s = [u ⊙ w_l H_l]_l ++ [w_a H_a ⊙ w_b H_b]_{a<b}             (N + N(N−1)/2)·d
 *   drr-ave  p = Σ_l w_l H_l (weighted average pooling), s = [u, u ⊙ p, p]  3·d
 *
 * w are per-position weights learned end to end with the actor and critic (the paper's DRR-n has
 * no parameters; it gets the same per-position weights so all four learn the same way). Position
 * selection and pair products are written as matrix products with constant 0/1 matrices because
 * the gradients registered for the wasm backend (engine/gradients.ts) cover matMul, mul and
 * reshape but not slice or gather.
 */
import * as tf from '@tensorflow/tfjs-core';

export const STATE_MODULES = ['drr-n', 'drr-p', 'drr-u', 'drr-ave'] as const;
export type StateModuleKind = (typeof STATE_MODULES)[number];

export function stateDim(kind: StateModuleKind, n: number, d: number): number {
  const pairs = (n * (n - 1)) / 2;
  switch (kind) {
    case 'drr-n':
      return n * d;
    case 'drr-p':
    case 'drr-u':
      return (n + pairs) * d;
    case 'drr-ave':
      return 3 * d;
  }
}

/** [rows, cols] 0/1 matrix with ones at (r, c) for each given pair. */
function selection(rows: number, cols: number, ones: Iterable<[number, number]>): tf.Tensor2D {
  const v = new Float32Array(rows * cols);
  for (const [r, c] of ones) v[r * cols + c] = 1;
  return tf.tensor2d(v, [rows, cols]);
}

export class StateModule {
  readonly dim: number;
  /** per-position weights [1, N] */
  readonly weights: tf.Variable<tf.Rank.R2>;
  /** [N, N·d]: spreads a per-position value over that position's d coordinates */
  private readonly spread: tf.Tensor2D;
  /** [N·d, P·d] each: picks H_a / H_b of every pair a < b */
  private readonly left?: tf.Tensor2D;
  private readonly right?: tf.Tensor2D;
  /** [d, N·d]: repeats u at every position (drr-u) */
  private readonly repeat?: tf.Tensor2D;
  /** [N·d, d]: sums the positions */
  private readonly pool: tf.Tensor2D;

  constructor(
    readonly kind: StateModuleKind,
    readonly n: number,
    readonly d: number,
    initialWeights?: Float32Array,
  ) {
    this.dim = stateDim(kind, n, d);
    // drr-ave starts as the plain average, the others as the plain embeddings
    const w0 = initialWeights ?? new Float32Array(n).fill(kind === 'drr-ave' ? 1 / n : 1);
    this.weights = tf.tidy(() => tf.variable(tf.tensor2d(w0, [1, n])));
    const spreadOnes: [number, number][] = [];
    for (let l = 0; l < n; l++) for (let k = 0; k < d; k++) spreadOnes.push([l, l * d + k]);
    this.spread = selection(n, n * d, spreadOnes);
    if (kind === 'drr-p' || kind === 'drr-u') {
      const leftOnes: [number, number][] = [];
      const rightOnes: [number, number][] = [];
      let p = 0;
      for (let a = 0; a < n; a++) {
        for (let b = a + 1; b < n; b++) {
          for (let k = 0; k < d; k++) {
            leftOnes.push([a * d + k, p * d + k]);
            rightOnes.push([b * d + k, p * d + k]);
          }
          p++;
        }
      }
      this.left = selection(n * d, p * d, leftOnes);
      this.right = selection(n * d, p * d, rightOnes);
    }
    if (kind === 'drr-u') {
      const ones: [number, number][] = [];
      for (let l = 0; l < n; l++) for (let k = 0; k < d; k++) ones.push([k, l * d + k]);
      this.repeat = selection(d, n * d, ones);
    }
    const poolOnes: [number, number][] = [];
    for (let l = 0; l < n; l++) for (let k = 0; k < d; k++) poolOnes.push([l * d + k, k]);
    this.pool = selection(n * d, d, poolOnes);
  }

  /** user [B, d], items [B, N·d] → state [B, dim] */
  apply(user: tf.Tensor2D, items: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy((): tf.Tensor2D => {
      const weighted = tf.mul(items, tf.matMul(this.weights, this.spread)) as tf.Tensor2D;
      const pairs = (): tf.Tensor2D => tf.mul<tf.Tensor2D>(tf.matMul(weighted, this.left!), tf.matMul(weighted, this.right!));
      switch (this.kind) {
        case 'drr-n':
          return weighted;
        case 'drr-p':
          return tf.concat([weighted, pairs()], 1);
        case 'drr-u':
          return tf.concat([tf.mul<tf.Tensor2D>(tf.matMul(user, this.repeat!), weighted), pairs()], 1);
        case 'drr-ave': {
          const pooled = tf.matMul(weighted, this.pool);
          return tf.concat([user, tf.mul<tf.Tensor2D>(user, pooled), pooled as tf.Tensor2D], 1);
        }
      }
    });
  }

  /** The plain mean of the state's item rows [B, d] (padding counts as zeros). */
  meanItems(items: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.div<tf.Tensor2D>(tf.matMul(items, this.pool), this.n));
  }

  variables(): tf.Variable[] {
    return [this.weights];
  }

  weightValues(): Float32Array {
    return Float32Array.from(this.weights.dataSync());
  }

  dispose(): void {
    this.weights.dispose();
    for (const t of [this.spread, this.left, this.right, this.repeat, this.pool]) t?.dispose();
  }
}
