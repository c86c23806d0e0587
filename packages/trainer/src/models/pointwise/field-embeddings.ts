/**
 * One embedding per field for the deep CTR models (Wide & Deep, DLRM): every slot's feature row of
 * an EmbeddingTable, scaled by the slot's value and summed per field, so a one-hot field yields its
 * feature's embedding and a multi-valued one (genres) the mean of its values'. The pooling runs in
 * JavaScript over the table rows and its gradient is scattered back there (engine/embedding-table.ts
 * explains why embeddings stay outside tfjs); the exported graph does the same with Gather and a
 * [fields, slots] pooling MatMul.
 */
import type { GraphBuilder, Value } from '../../onnx/builder.js';
import { EmbeddingTable, RowGradientAccumulator, SparseAdagrad, SparseAdam, type SparseOptimizer } from '../../engine/embedding-table.js';
import type { Rng } from '../../engine/rng.js';
import { unsqueeze } from '../../onnx/layers.js';
import type { CtrFeatures } from './feature-fields.js';

export const EMBEDDING_OPTIMIZERS = ['adam', 'adagrad'] as const;
export type EmbeddingOptimizer = (typeof EMBEDDING_OPTIMIZERS)[number];

export interface FieldEmbeddingOptions {
  dim: number;
  /** row-wise optimiser of the table (default adam); the Wide & Deep paper trains its deep part with Adagrad */
  optimizer?: EmbeddingOptimizer;
  learningRate: number;
  l2: number;
  initStd: number;
}

export class FieldEmbeddings {
  readonly table: EmbeddingTable;
  readonly nFields: number;
  readonly dim: number;
  readonly K: number;
  private readonly slotField: Int32Array;
  private readonly nFeatures: number;
  private readonly opt: SparseOptimizer;
  private readonly acc: RowGradientAccumulator;

  constructor(features: CtrFeatures, options: FieldEmbeddingOptions, rng: Rng) {
    this.nFields = features.fields.length;
    this.dim = options.dim;
    this.K = features.userSlots + features.itemSlots;
    this.slotField = features.slotField;
    this.nFeatures = features.nFeatures;
    this.table = new EmbeddingTable(features.nFeatures + 1, options.dim, rng, { kind: 'normal', std: options.initStd });
    // the padding row must stay zero: it is gathered for every empty slot
    this.table.values.fill(0, features.nFeatures * options.dim);
    this.opt =
      options.optimizer === 'adagrad'
        ? new SparseAdagrad(this.table, { learningRate: options.learningRate, l2: options.l2 })
        : new SparseAdam(this.table, { learningRate: options.learningRate, l2: options.l2 });
    this.acc = new RowGradientAccumulator(this.table.rows, options.dim);
  }

  get width(): number {
    return this.nFields * this.dim;
  }

  /** Pooled field embeddings [n, nFields · dim] of n examples' slots. */
  pool(idx: Int32Array, val: Float32Array, n: number): Float32Array {
    const { K, dim: d, slotField, nFeatures } = this;
    const E = this.table.values;
    const width = this.width;
    const out = new Float32Array(n * width);
    for (let b = 0; b < n; b++) {
      for (let s = 0; s < K; s++) {
        const x = val[b * K + s] as number;
        const j = idx[b * K + s] as number;
        if (x === 0 || j === nFeatures) continue;
        const o = b * width + (slotField[s] as number) * d;
        const r = j * d;
        for (let f = 0; f < d; f++) out[o + f] = (out[o + f] as number) + x * (E[r + f] as number);
      }
    }
    return out;
  }

  /** Applies d loss / d pooled ([n, nFields · dim]) to the rows the slots used (SparseAdam). */
  backward(idx: Int32Array, val: Float32Array, n: number, grad: Float32Array): void {
    const { K, dim: d, slotField, nFeatures, acc } = this;
    const width = this.width;
    for (let b = 0; b < n; b++) {
      for (let s = 0; s < K; s++) {
        const x = val[b * K + s] as number;
        const j = idx[b * K + s] as number;
        if (x === 0 || j === nFeatures) continue;
        acc.add(j, grad, b * width + (slotField[s] as number) * d, x);
      }
    }
    const v = acc.view();
    this.opt.updateDistinct(v.indices, v.grads);
    acc.clear();
  }

  /** The same pooling in ONNX: index int64 [batch, K], value float32 [batch, K] → float32 [batch, nFields · dim]. */
  graph(g: GraphBuilder, index: Value, value: Value, prefix: string): Value {
    const E = g.initializer(`${prefix}.embedding`, this.table.values.slice(), [this.table.rows, this.dim]);
    const rows = g.op('Mul', [g.op('Gather', [E, index], { axis: 0 }), unsqueeze(g, value, [2])], {}, { name: `${prefix}.scaled_rows` });
    const pool = new Float32Array(this.nFields * this.K);
    for (let s = 0; s < this.K; s++) pool[(this.slotField[s] as number) * this.K + s] = 1;
    // [fields, K] · [batch, K, dim] broadcasts to [batch, fields, dim]
    const pooled = g.op('MatMul', [g.constant(pool, [this.nFields, this.K]), rows], {}, { name: `${prefix}.pooled` });
    return g.op('Flatten', [pooled], { axis: 1 }, { name: `${prefix}.fields` });
  }
}
