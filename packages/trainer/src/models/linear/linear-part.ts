/**
 * The bias + Σ w_j x_j part every CTR model of this family has, with per-coordinate Adagrad (the
 * optimiser libffm and most FTRL-era CTR trainers use: rare features get large steps, frequent ones
 * small) and L2 applied to the coordinates an example touches.
 */
import type { GraphBuilder, Value } from '../../onnx/builder.js';
import { reduceSum } from '../../onnx/layers.js';

export interface AdagradOptions {
  learningRate: number;
  /** L2 on the touched coordinates */
  l2: number;
  /** starting value of the squared-gradient sums (libffm starts at 1, which damps the first steps) */
  initialAccumulator: number;
}

export class LinearPart {
  /** [nFeatures + 1]; the last entry is the padding feature and stays 0 */
  readonly w: Float32Array;
  readonly bias: Float32Array;
  private readonly gw: Float32Array;
  private gb: number;

  constructor(
    readonly nFeatures: number,
    readonly K: number,
    private readonly opt: AdagradOptions,
  ) {
    this.w = new Float32Array(nFeatures + 1);
    this.bias = new Float32Array(1);
    this.gw = new Float32Array(nFeatures + 1).fill(opt.initialAccumulator);
    this.gb = opt.initialAccumulator;
  }

  logit(idx: Int32Array, val: Float32Array, o: number): number {
    let z = this.bias[0] as number;
    for (let s = o; s < o + this.K; s++) z += (this.w[idx[s] as number] as number) * (val[s] as number);
    return z;
  }

  /** Adagrad step for d loss / d logit = dz. */
  update(idx: Int32Array, val: Float32Array, o: number, dz: number): void {
    const { learningRate: lr, l2 } = this.opt;
    this.gb += dz * dz;
    this.bias[0] = (this.bias[0] as number) - (lr * dz) / Math.sqrt(this.gb);
    const { w, gw } = this;
    for (let s = o; s < o + this.K; s++) {
      const x = val[s] as number;
      if (x === 0) continue;
      const j = idx[s] as number;
      const g = dz * x + l2 * (w[j] as number);
      gw[j] = (gw[j] as number) + g * g;
      w[j] = (w[j] as number) - (lr * g) / Math.sqrt(gw[j] as number);
    }
  }

  parameters(): Float32Array[] {
    return [this.w, this.bias];
  }

  /** bias + Σ_slots w[index] · value → [batch] */
  graph(g: GraphBuilder, index: Value, value: Value, prefix: string): Value {
    const w = g.initializer(`${prefix}.linear.weight`, this.w.slice(), [this.nFeatures + 1]);
    const b = g.initializer(`${prefix}.linear.bias`, this.bias.slice(), [1]);
    const terms = g.op('Mul', [g.op('Gather', [w, index], { axis: 0 }), value]);
    return g.op('Add', [reduceSum(g, terms, [1], false, `${prefix}.linear.sum`), b], {}, { name: `${prefix}.linear` });
  }
}

/** All slot pairs s < t of K slots, as two index lists. */
export function slotPairs(K: number): { first: Int32Array; second: Int32Array } {
  const first: number[] = [];
  const second: number[] = [];
  for (let s = 0; s < K; s++) for (let t = s + 1; t < K; t++) {
    first.push(s);
    second.push(t);
  }
  return { first: Int32Array.from(first), second: Int32Array.from(second) };
}
