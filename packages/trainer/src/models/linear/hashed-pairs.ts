/**
 * Weights of feature pairs (cross features), hashed into a fixed number of buckets: Poly2's every
 * pair, Wide & Deep's user × item crosses. The hash is (a·A + b·B) mod buckets with odd A, B; the
 * products stay below 2^53 for any realistic vocabulary, so JavaScript and ONNX int64 agree exactly.
 */
import type { GraphBuilder, Value } from '../../onnx/builder.js';
import { reduceSum } from '../../onnx/layers.js';
import type { AdagradOptions } from './linear-part.js';

const HASH_A = 1_000_003;
const HASH_B = 19_260_817;

export function pairBucket(a: number, b: number, buckets: number): number {
  return (a * HASH_A + b * HASH_B) % buckets;
}

export class HashedPairs {
  readonly weight: Float32Array;
  private readonly acc: Float32Array;

  /** `first[q]`, `second[q]`: the slots of cross q. */
  constructor(
    readonly first: Int32Array,
    readonly second: Int32Array,
    readonly buckets: number,
    private readonly opt: AdagradOptions,
  ) {
    this.weight = new Float32Array(buckets);
    this.acc = new Float32Array(buckets).fill(opt.initialAccumulator);
  }

  logit(idx: Int32Array, val: Float32Array, o: number): number {
    const { first, second, weight, buckets } = this;
    let z = 0;
    for (let q = 0; q < first.length; q++) {
      const s = o + (first[q] as number);
      const t = o + (second[q] as number);
      const x = (val[s] as number) * (val[t] as number);
      if (x === 0) continue;
      z += (weight[pairBucket(idx[s] as number, idx[t] as number, buckets)] as number) * x;
    }
    return z;
  }

  /** Adagrad step for d loss / d logit = dz. */
  update(idx: Int32Array, val: Float32Array, o: number, dz: number): void {
    const { first, second, weight, acc, buckets } = this;
    const { learningRate: lr, l2 } = this.opt;
    for (let q = 0; q < first.length; q++) {
      const s = o + (first[q] as number);
      const t = o + (second[q] as number);
      const x = (val[s] as number) * (val[t] as number);
      if (x === 0) continue;
      const h = pairBucket(idx[s] as number, idx[t] as number, buckets);
      const g = dz * x + l2 * (weight[h] as number);
      acc[h] = (acc[h] as number) + g * g;
      weight[h] = (weight[h] as number) - (lr * g) / Math.sqrt(acc[h] as number);
    }
  }

  /** Σ_q weight[h(index_s, index_t)] · value_s · value_t → [batch] */
  graph(g: GraphBuilder, index: Value, value: Value, prefix: string): Value {
    const P = this.first.length;
    const firstIdx = g.constant(BigInt64Array.from(this.first, (v) => BigInt(v)), [P]);
    const secondIdx = g.constant(BigInt64Array.from(this.second, (v) => BigInt(v)), [P]);
    const a = g.op('Gather', [index, firstIdx], { axis: 1 });
    const b = g.op('Gather', [index, secondIdx], { axis: 1 });
    const h = g.op('Mod', [g.op('Add', [g.op('Mul', [a, g.int64(HASH_A)]), g.op('Mul', [b, g.int64(HASH_B)])]), g.int64(this.buckets)], { fmod: 0 }, { name: `${prefix}.bucket` });
    const w = g.initializer(`${prefix}.weight`, this.weight.slice(), [this.buckets]);
    const x = g.op('Mul', [g.op('Gather', [value, firstIdx], { axis: 1 }), g.op('Gather', [value, secondIdx], { axis: 1 })]);
    return reduceSum(g, g.op('Mul', [g.op('Gather', [w, h], { axis: 0 }), x]), [1], false, `${prefix}.sum`);
  }
}
