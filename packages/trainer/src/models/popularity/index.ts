import { TastemakerError } from '@tastemaker/core';
import type { PopularityExport } from '../../export/types.js';
import type { FitOptions, ModelFactory, TrainedModel, TrainInfo, TrainSet } from '../types.js';

/**
 * Counts how many training users interacted with each item. The score is the raw count (not a
 * share), so the bundle's popularity fallback can also show "n people liked this" and a model
 * trained on more data does not silently change scale meaning.
 */
export function itemCounts(train: TrainSet): Float32Array {
  const { csr } = train;
  const counts = new Float32Array(csr.cols);
  const nnz = csr.indptr[csr.rows] ?? 0;
  for (let p = 0; p < nnz; p++) {
    const i = csr.indices[p]!;
    counts[i] = counts[i]! + 1;
  }
  return counts;
}

class PopularityModel implements TrainedModel {
  readonly id = 'popularity' as const;
  readonly info: TrainInfo;
  private disposed = false;

  constructor(
    readonly nUsers: number,
    readonly nItems: number,
    private readonly scores: Float32Array,
  ) {
    this.info = { backend: 'typed-arrays', params: {} };
  }

  async scoreBatch(users: Int32Array, histories: readonly Int32Array[]): Promise<Float32Array> {
    if (this.disposed) throw new TastemakerError('DISPOSED', 'popularity model was disposed');
    if (users.length !== histories.length) {
      throw new TastemakerError('INVALID_ARGUMENT', `scoreBatch: ${users.length} users but ${histories.length} histories`);
    }
    for (const u of users) {
      if (u < -1 || u >= this.nUsers) throw new TastemakerError('INVALID_ARGUMENT', `scoreBatch: user index ${u} outside [-1, ${this.nUsers})`);
    }
    // Everyone gets the same list; histories are irrelevant by definition of the model.
    const n = this.nItems;
    const out = new Float32Array(users.length * n);
    for (let b = 0; b < users.length; b++) out.set(this.scores, b * n);
    return out;
  }

  exportSpec(): PopularityExport {
    return { kind: 'popularity', scores: this.scores.slice() };
  }

  dispose(): void {
    this.disposed = true;
  }
}

export const popularityModel: ModelFactory = {
  id: 'popularity',
  description: 'Most popular items first (number of training users per item); the same list for everyone.',
  async fit(train: TrainSet, options: FitOptions): Promise<TrainedModel> {
    const started = Date.now();
    const scores = itemCounts(train);
    options.log?.(`popularity: counted ${train.csr.indptr[train.csr.rows] ?? 0} interactions over ${train.csr.cols} items in ${Date.now() - started} ms`);
    return new PopularityModel(train.csr.rows, train.csr.cols, scores);
  },
};
