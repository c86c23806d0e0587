/**
 * The early-stopping split of Mult-VAE: some users lose part of their items to validation, the way
 * ratio-75 tests users it has seen. pointwise/validation-split.ts holds out from every user, which
 * would take a share of the data from all of them; here most users keep their whole row.
 */
import type { Csr } from '../../data/dataset.js';
import type { Rng } from '../../engine/rng.js';

/** Each user's distinct items, ascending (the 0/1 rows Mult-VAE reads; repeats count once). */
export function distinctRows(csr: Csr): Int32Array[] {
  return Array.from({ length: csr.rows }, (_, u) => {
    const row = csr.indices.subarray(csr.indptr[u] as number, csr.indptr[u + 1] as number);
    return Int32Array.from(new Set(row)).sort();
  });
}

export interface VaeHoldout {
  /** every user's row with their validation items removed */
  train: Int32Array[];
  /** validation users (ascending) and, per user, their held-out items (ascending) */
  users: Int32Array;
  heldOut: Int32Array[];
}

/**
 * Picks round(userShare · eligible) users among those with at least 2 items, and moves
 * round(itemShare · n) of each one's n items (at least 1, at most n − 1) to validation.
 */
export function holdOutUsers(rows: readonly Int32Array[], userShare: number, itemShare: number, rng: Rng): VaeHoldout {
  const eligible: number[] = [];
  rows.forEach((row, u) => {
    if (row.length >= 2) eligible.push(u);
  });
  rng.shuffle(eligible);
  const chosen = eligible.slice(0, Math.round(userShare * eligible.length)).sort((a, b) => a - b);
  const train = rows.slice();
  const heldOut: Int32Array[] = [];
  for (const u of chosen) {
    const row = Int32Array.from(rows[u] as Int32Array);
    const n = row.length;
    const k = Math.min(n - 1, Math.max(1, Math.round(itemShare * n)));
    rng.shuffle(row);
    heldOut.push(row.slice(0, k).sort());
    train[u] = row.slice(k).sort();
  }
  return { train, users: Int32Array.from(chosen), heldOut };
}
