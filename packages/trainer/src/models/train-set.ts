import { selectInteractions, subsetInteractions, toCsr } from '../data/index.js';
import type { Dataset } from '../data/dataset.js';
import type { TrainSet } from './types.js';

/**
 * The TrainSet of the interactions at `rows`: id maps and side features unchanged, every row kept in
 * `dataset` (explicit negatives too, for models that use them); the CSR holds the rows whose value
 * passes `positive` (all of them by default).
 */
export function trainSetOf(dataset: Dataset, rows: Int32Array, positive?: (value: number) => boolean): TrainSet {
  const train = rows.length === dataset.interactions.user.length ? dataset : subsetInteractions(dataset, rows);
  const implicit = positive === undefined ? train : subsetInteractions(train, selectInteractions(train, positive));
  return { dataset: train, csr: toCsr(implicit, dataset.users.size, dataset.items.size) };
}

/**
 * The training set for fitting on a whole data set. Positives are interactions with value ≥ `minValue`;
 * without it, every interaction with a positive value (ratings, play counts), which leaves out only
 * the explicit negatives some sources carry (Last.FM KG's sampled label-0 rows).
 */
export function positivesTrainSet(dataset: Dataset, minValue?: number): TrainSet {
  const all = Int32Array.from({ length: dataset.interactions.user.length }, (_, i) => i);
  return trainSetOf(dataset, all, minValue === undefined ? (v) => v > 0 : (v) => v >= minValue);
}
