import { IdMap, type Csr, type Dataset } from '../data/dataset.js';
import { Rng } from '../engine/rng.js';
import type { TrainSet } from './types.js';

/** Test fixtures shared by the model tests (not exported from the package). */

/** A TrainSet whose user u interacted with the items rows[u] (models only read the CSR and id maps). */
export function trainSetFromRows(rows: number[][], nItems: number): TrainSet {
  const indptr = new Int32Array(rows.length + 1);
  const flat: number[] = [];
  rows.forEach((items, u) => {
    flat.push(...[...new Set(items)].sort((a, b) => a - b));
    indptr[u + 1] = flat.length;
  });
  const csr: Csr = { rows: rows.length, cols: nItems, indptr, indices: Int32Array.from(flat), values: new Float32Array(flat.length).fill(1) };
  const dataset: Dataset = {
    name: 'test',
    users: IdMap.from(rows.map((_, u) => `u${u}`)),
    items: IdMap.from(Array.from({ length: nItems }, (_, i) => `i${i}`)),
    interactions: { user: new Int32Array(0), item: new Int32Array(0), value: new Float32Array(0), timestamp: new Float64Array(0) },
  };
  return { dataset, csr };
}

/** Each user interacts with each item independently with probability `density`. */
export function randomRows(seed: number, users: number, items: number, density: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: users }, () => Array.from({ length: items }, (_, i) => i).filter(() => rng.next() < density));
}
