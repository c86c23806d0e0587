/**
 * Held-out parts of the training data for early stopping. Both splits are per user and keep at
 * least one example of every user on the training side, so no user loses its embedding's only
 * signal to validation.
 */
import { TastemakerError } from '@tastemaker/core';
import type { Csr } from '../../data/dataset.js';
import type { Rng } from '../../engine/rng.js';
import { selectPairs, type LabelledPairs } from './labelled-pairs.js';

function checkFraction(fraction: number): void {
  if (!Number.isFinite(fraction) || fraction < 0 || fraction >= 1) {
    throw new TastemakerError('INVALID_CONFIG', `Invalid validation fraction ${JSON.stringify(fraction)}: it must be in [0, 1).`, { option: 'validation', got: fraction });
  }
}

/** How many of a user's n examples go to validation: round(fraction · n), at most n − 1. */
function heldOutCount(n: number, fraction: number): number {
  return Math.min(Math.max(n - 1, 0), Math.round(fraction * n));
}

/** Per user, a seeded `fraction` of their labelled pairs go to validation (order within each part kept). */
export function splitPairsByUser(pairs: LabelledPairs, fraction: number, rng: Rng): { train: LabelledPairs; validation: LabelledPairs } {
  checkFraction(fraction);
  const byUser = new Map<number, number[]>();
  for (let r = 0; r < pairs.user.length; r++) {
    const u = pairs.user[r] as number;
    const list = byUser.get(u);
    if (list) list.push(r);
    else byUser.set(u, [r]);
  }
  const inValidation = new Uint8Array(pairs.user.length);
  // users in ascending order, so the split does not depend on the pairs' order beyond each user's rows
  for (const u of [...byUser.keys()].sort((a, b) => a - b)) {
    const rows = byUser.get(u) as number[];
    const k = heldOutCount(rows.length, fraction);
    // partial Fisher–Yates: the first k positions are a uniform sample
    for (let i = 0; i < k; i++) {
      const j = i + rng.int(rows.length - i);
      const t = rows[i] as number;
      rows[i] = rows[j] as number;
      rows[j] = t;
      inValidation[rows[i] as number] = 1;
    }
  }
  const train: number[] = [];
  const validation: number[] = [];
  for (let r = 0; r < pairs.user.length; r++) (inValidation[r] ? validation : train).push(r);
  return { train: selectPairs(pairs, train), validation: selectPairs(pairs, validation) };
}

/**
 * Per user, a seeded `fraction` of their positives move from `csr` to a validation matrix of the
 * same shape. Sample the validation negatives with the full `csr` as exclusion (NegativeSampler's
 * `exclude`), so that a training positive is never a validation negative.
 */
export function holdOutPositives(csr: Csr, fraction: number, rng: Rng): { train: Csr; validation: Csr } {
  checkFraction(fraction);
  const nnz = csr.indptr[csr.rows] as number;
  const held = new Uint8Array(nnz);
  let nHeld = 0;
  for (let u = 0; u < csr.rows; u++) {
    const lo = csr.indptr[u] as number;
    const n = (csr.indptr[u + 1] as number) - lo;
    const k = heldOutCount(n, fraction);
    const slots = Int32Array.from({ length: n }, (_, q) => lo + q);
    for (let i = 0; i < k; i++) {
      const j = i + rng.int(n - i);
      const t = slots[i] as number;
      slots[i] = slots[j] as number;
      slots[j] = t;
      held[slots[i] as number] = 1;
    }
    nHeld += k;
  }
  const build = (keep: 0 | 1, size: number): Csr => {
    const indptr = new Int32Array(csr.rows + 1);
    const indices = new Int32Array(size);
    const values = new Float32Array(size);
    let o = 0;
    for (let u = 0; u < csr.rows; u++) {
      for (let q = csr.indptr[u] as number; q < (csr.indptr[u + 1] as number); q++) {
        if (held[q] !== keep) continue;
        indices[o] = csr.indices[q] as number;
        values[o] = csr.values[q] as number;
        o++;
      }
      indptr[u + 1] = o;
    }
    return { rows: csr.rows, cols: csr.cols, indptr, indices, values };
  };
  return { train: build(0, nnz - nHeld), validation: build(1, nHeld) };
}
