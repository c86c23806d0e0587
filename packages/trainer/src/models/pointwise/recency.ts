import { TastemakerError } from '@tastemaker/core';
import { timeOrderedRows } from '../../data/csr.js';
import type { Csr, Interactions } from '../../data/dataset.js';

/**
 * Recency weighting for implicit positives: a copy of `train` in which each user's `window` latest
 * positives appear `1 + extra` times, so a pointwise epoch trains on them (and draws negatives for
 * them) that many times. "Latest" is the order timeOrderedRows gives (timestamp, ties to the later
 * row as the leave-latest-out protocols break them, pairs without a timestamp oldest). Rows stay
 * ascending, a repeated item's copies side by side; `train` is not changed.
 *
 * Why: tastes drift and rating logs come in sessions, so the items a user rated last predict the
 * next one best; on ML-1M ncf-loo, whose test item is each user's latest, this moved GMF and NeuMF
 * more than any architecture setting we measured (ARCHITECTURE.md, NCF).
 */
export function repeatRecentPositives(train: Csr, interactions: Interactions, window: number, extra: number): Csr {
  if (!Number.isInteger(window) || window < 0) {
    throw new TastemakerError('INVALID_CONFIG', `recencyWindow must be a non-negative integer, got ${JSON.stringify(window)}`, { option: 'recencyWindow', got: window });
  }
  if (!Number.isInteger(extra) || extra < 0) {
    throw new TastemakerError('INVALID_CONFIG', `recencyRepeats must be a non-negative integer, got ${JSON.stringify(extra)}`, { option: 'recencyRepeats', got: extra });
  }
  if (window === 0 || extra === 0) return train;
  if (!interactions.timestamp.some(Number.isFinite)) {
    throw new TastemakerError('INVALID_CONFIG', 'recency weighting (recencyWindow) needs timestamped interactions, and this data set has none', { option: 'recencyWindow' });
  }
  const ordered = timeOrderedRows(train, interactions);
  const recentOf = (u: number): Int32Array => ordered.indices.subarray(Math.max(train.indptr[u] as number, (train.indptr[u + 1] as number) - window), train.indptr[u + 1] as number);
  const timesOf = (recent: Int32Array, i: number): number => (recent.includes(i) ? 1 + extra : 1);
  let size = 0;
  for (let u = 0; u < train.rows; u++) {
    const recent = recentOf(u);
    for (let q = train.indptr[u] as number; q < (train.indptr[u + 1] as number); q++) size += timesOf(recent, train.indices[q] as number);
  }
  const indptr = new Int32Array(train.rows + 1);
  const indices = new Int32Array(size);
  const values = new Float32Array(size);
  let o = 0;
  for (let u = 0; u < train.rows; u++) {
    const recent = recentOf(u);
    for (let q = train.indptr[u] as number; q < (train.indptr[u + 1] as number); q++) {
      const i = train.indices[q] as number;
      for (let c = timesOf(recent, i); c > 0; c--) {
        indices[o] = i;
        values[o] = train.values[q] as number;
        o++;
      }
    }
    indptr[u + 1] = o;
  }
  return { rows: train.rows, cols: train.cols, indptr, indices, values };
}
