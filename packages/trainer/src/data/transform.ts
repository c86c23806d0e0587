import { TastemakerError } from '@tastemaker/core';
import type { Dataset, Interactions } from './dataset.js';

/** Gathers interactions at `indices`, in the given order. */
function gather(x: Interactions, indices: ArrayLike<number>): Interactions {
  const n = indices.length;
  const out: Interactions = {
    user: new Int32Array(n),
    item: new Int32Array(n),
    value: new Float32Array(n),
    timestamp: new Float64Array(n),
  };
  const total = x.user.length;
  for (let j = 0; j < n; j++) {
    const k = indices[j] as number;
    if (!(k >= 0 && k < total)) throw new TastemakerError('INVALID_ARGUMENT', `interaction index ${k} is outside [0, ${total})`);
    out.user[j] = x.user[k] as number;
    out.item[j] = x.item[k] as number;
    out.value[j] = x.value[k] as number;
    out.timestamp[j] = x.timestamp[k] as number;
  }
  return out;
}

/**
 * The same data set (id maps, features, KG shared, not copied) with only the interactions at
 * `indices`; splits use it to make train and test sets that index the same users and items.
 */
export function subsetInteractions(dataset: Dataset, indices: Int32Array | readonly number[]): Dataset {
  return { ...dataset, interactions: gather(dataset.interactions, indices) };
}

/** Indices of the interactions whose value passes `keep`. */
export function selectInteractions(dataset: Dataset, keep: (value: number, index: number) => boolean): Int32Array {
  const v = dataset.interactions.value;
  const picked = new Int32Array(v.length);
  let n = 0;
  for (let k = 0; k < v.length; k++) if (keep(v[k] as number, k)) picked[n++] = k;
  return picked.slice(0, n);
}

/**
 * Implicit feedback from explicit: keeps interactions with value >= threshold and sets their value
 * to 1 (e.g. ratings >= 4 as positives, or threshold 1 to drop Last.FM KG's label-0 negatives).
 */
export function binarize(dataset: Dataset, threshold: number): Dataset {
  if (!Number.isFinite(threshold)) throw new TastemakerError('INVALID_ARGUMENT', `binarize threshold must be a finite number, got ${threshold}`);
  const kept = subsetInteractions(
    dataset,
    selectInteractions(dataset, (value) => value >= threshold),
  );
  kept.interactions.value.fill(1);
  return kept;
}
