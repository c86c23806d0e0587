import { TastemakerError } from '@tastemaker/core';
import type { Csr } from '../../data/dataset.js';
import type { ItemSimilarityExport } from '../../export/types.js';
import type { FitOptions, ModelFactory, TrainedModel, TrainInfo, TrainSet } from '../types.js';
import { invertSpd } from './spd-inverse.js';
import { checkScoreBatch } from '../validation.js';

/**
 * EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): the item-item
 * weights B minimising ‖X − X·B‖² + λ‖B‖² subject to diag(B) = 0 have the closed form
 * B = I − P·diag(1/diag(P)) with P = (XᵀX + λI)⁻¹, i.e. B[i][j] = −P[i][j] / P[j][j] (i ≠ j).
 * X is the binary user × item training matrix. Scores are X·B: row h of B is added for each
 * history item h — exactly the ItemSimilarityExport contract.
 */

/**
 * λ: on ML-100K ratio-75 (seed 42) λ = 200 / 350 / 500 / 700 / 1000 gave ndcg@10
 * 0.479 / 0.486 / 0.487 / 0.486 / 0.480, so the optimum is flat around 500.
 */
export const EASE_DEFAULT_L2 = 500;

/**
 * The dense inverse needs two n×n float64 buffers and n³/2 multiply-adds: 10k items is 1.6 GB and
 * several minutes, beyond which a fit is refused unless `extra.maxItems` says otherwise.
 */
export const EASE_MAX_ITEMS = 10_000;

/** Lower triangle of XᵀX for binary X (co-occurrence counts), as a dense row-major n×n matrix. */
export function lowerGram(csr: Csr): Float64Array {
  const n = csr.cols;
  const g = new Float64Array(n * n);
  for (let u = 0; u < csr.rows; u++) {
    const start = csr.indptr[u]!;
    const end = csr.indptr[u + 1]!;
    for (let p = start; p < end; p++) {
      const row = csr.indices[p]! * n;
      // indices are ascending within a row, so q ≤ p gives columns ≤ the row: the lower triangle
      for (let q = start; q <= p; q++) {
        const at = row + csr.indices[q]!;
        g[at] = g[at]! + 1;
      }
    }
  }
  return g;
}

/** B (row-major n×n float32, zero diagonal) from the training matrix and λ. */
export function easeWeights(csr: Csr, l2: number, progress?: (done: number, total: number) => void): Float32Array {
  const n = csr.cols;
  const p = lowerGram(csr);
  for (let i = 0; i < n; i++) p[i * n + i] = p[i * n + i]! + l2;
  invertSpd(p, n, progress);
  const b = new Float32Array(n * n);
  const inverseDiag = new Float64Array(n);
  for (let j = 0; j < n; j++) inverseDiag[j] = -1 / p[j * n + j]!;
  for (let i = 0; i < n; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) b[row + j] = p[row + j]! * inverseDiag[j]!;
    b[row + i] = 0;
  }
  return b;
}

class EaseModel implements TrainedModel {
  readonly id = 'ease' as const;
  readonly nUsers: number;
  readonly nItems: number;
  private disposed = false;

  constructor(
    private readonly train: Csr,
    private weights: Float32Array,
    readonly info: TrainInfo,
  ) {
    this.nUsers = train.rows;
    this.nItems = train.cols;
  }

  /**
   * Known users are scored from the history given, or from their training items when the given
   * history is empty (the bundle ships those training histories, so serving does the same).
   * Unknown users (-1) use the given history alone. Repeated items count once per occurrence,
   * as in the export's sum over the history.
   */
  async scoreBatch(users: Int32Array, histories: readonly Int32Array[]): Promise<Float32Array> {
    if (this.disposed) throw new TastemakerError('DISPOSED', 'ease model was disposed');
    checkScoreBatch('ease', users, histories, this.nUsers, this.nItems);
    const n = this.nItems;
    const w = this.weights;
    const out = new Float32Array(users.length * n);
    for (let b = 0; b < users.length; b++) {
      const items = historyOf(this.train, users[b]!, histories[b]!);
      const o = b * n;
      let t = 0;
      // four history rows per pass over the output row: a quarter of the output loads and stores
      for (; t + 4 <= items.length; t += 4) {
        const r0 = items[t]! * n;
        const r1 = items[t + 1]! * n;
        const r2 = items[t + 2]! * n;
        const r3 = items[t + 3]! * n;
        for (let j = 0; j < n; j++) out[o + j] = out[o + j]! + (w[r0 + j]! + w[r1 + j]! + w[r2 + j]! + w[r3 + j]!);
      }
      for (; t < items.length; t++) {
        const row = items[t]! * n;
        for (let j = 0; j < n; j++) out[o + j] = out[o + j]! + w[row + j]!;
      }
    }
    return out;
  }

  exportSpec(): ItemSimilarityExport {
    if (this.disposed) throw new TastemakerError('DISPOSED', 'ease model was disposed');
    return { kind: 'item-similarity', nItems: this.nItems, matrix: this.weights.slice() };
  }

  dispose(): void {
    this.disposed = true;
    this.weights = new Float32Array(0);
  }
}

/** The items whose rows are summed for row b of a batch (see scoreBatch). */
export function historyOf(train: Csr, user: number, history: Int32Array): Int32Array {
  if (user < 0 || history.length > 0) return history;
  return train.indices.subarray(train.indptr[user]!, train.indptr[user + 1]!);
}

export const easeModel: ModelFactory = {
  id: 'ease',
  description: 'EASE (Steck 2019): closed-form item-item linear autoencoder; options.l2 is λ.',
  async fit(train: TrainSet, options: FitOptions): Promise<TrainedModel> {
    const l2 = options.l2 ?? EASE_DEFAULT_L2;
    if (!(l2 > 0) || !Number.isFinite(l2)) {
      throw new TastemakerError('INVALID_CONFIG', `Invalid l2 for ease: ${l2}. It must be a positive number (λ, e.g. ${EASE_DEFAULT_L2}).`, { option: 'l2', got: l2 });
    }
    const n = train.csr.cols;
    const maxItems = Number(options.extra?.maxItems ?? EASE_MAX_ITEMS);
    if (n > maxItems) {
      throw new TastemakerError(
        'INVALID_CONFIG',
        `ease: ${n} items is more than maxItems ${maxItems}; its dense n×n inverse would need ${((16 * n * n) / 2 ** 30).toFixed(1)} GiB. ` +
          'Drop rare items first, use item-knn, or raise extra.maxItems.',
        { option: 'maxItems', got: n, max: maxItems },
      );
    }
    const started = performance.now();
    const progress = options.progress;
    progress?.start('ease: inverting XᵀX + λI', 3 * n);
    let weights: Float32Array;
    try {
      weights = easeWeights(train.csr, l2, (done) => progress?.update(done));
    } finally {
      progress?.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    options.log?.(`ease: ${n} items, λ=${l2}, ${seconds.toFixed(1)} s`);
    const info: TrainInfo = { backend: 'typed-arrays', params: { l2 } };
    return new EaseModel(train.csr, weights, info);
  },
};
