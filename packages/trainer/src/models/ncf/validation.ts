/**
 * The NCF paper's validation: one positive per user is left out of training and ranked among
 * sampled items the user never interacted with; training stops when NDCG@10 on these lists stops
 * improving. The pointwise folder's holdOutPositives holds out a fraction per user; a fixed single
 * item per user is what keeps the validation lists shaped like the ncf-loo test.
 */
import type { Csr } from '../../data/dataset.js';
import type { Rng } from '../../engine/rng.js';

export interface LooValidation {
  /** users with a held-out positive */
  users: Int32Array;
  /** per such user, 1 + negatives candidates: the held-out positive first */
  candidates: Int32Array;
  listLength: number;
}

/**
 * Moves one positive of every user with at least two out of `csr`: `preferred[u]` when given and
 * in the row (the user's latest item, so validation looks like the leave-latest-out test), else a
 * random one. Returns the reduced training matrix and the validation lists (negatives drawn from
 * items outside the full row).
 */
export function leaveOneOutValidation(csr: Csr, negatives: number, rng: Rng, preferred?: Int32Array): { train: Csr; validation: LooValidation } {
  const held = new Int32Array(csr.rows).fill(-1);
  let nHeld = 0;
  for (let u = 0; u < csr.rows; u++) {
    const lo = csr.indptr[u] as number;
    const n = (csr.indptr[u + 1] as number) - lo;
    if (n < 2) continue;
    const want = preferred?.[u] ?? -1;
    let q = -1;
    if (want >= 0) for (let k = lo; k < lo + n && q < 0; k++) if (csr.indices[k] === want) q = k;
    held[u] = q >= 0 ? q : lo + rng.int(n);
    nHeld++;
  }
  const nnz = csr.indptr[csr.rows] as number;
  const indptr = new Int32Array(csr.rows + 1);
  const indices = new Int32Array(nnz - nHeld);
  const values = new Float32Array(nnz - nHeld);
  let o = 0;
  for (let u = 0; u < csr.rows; u++) {
    for (let q = csr.indptr[u] as number; q < (csr.indptr[u + 1] as number); q++) {
      if (q === held[u]) continue;
      indices[o] = csr.indices[q] as number;
      values[o] = csr.values[q] as number;
      o++;
    }
    indptr[u + 1] = o;
  }

  const listLength = 1 + negatives;
  const users = new Int32Array(nHeld);
  const candidates = new Int32Array(nHeld * listLength);
  const seen = new Uint8Array(csr.cols);
  let v = 0;
  for (let u = 0; u < csr.rows; u++) {
    const q = held[u] as number;
    if (q < 0) continue;
    const lo = csr.indptr[u] as number;
    const hi = csr.indptr[u + 1] as number;
    for (let k = lo; k < hi; k++) seen[csr.indices[k] as number] = 1;
    const free = csr.cols - (hi - lo);
    users[v] = u;
    const base = v * listLength;
    candidates[base] = csr.indices[q] as number;
    for (let k = 1; k < listLength; k++) {
      // With no free item at all the list keeps the positive alone (rank 1, it counts as a hit).
      if (free <= 0) {
        candidates[base + k] = csr.indices[q] as number;
        continue;
      }
      let j: number;
      do j = rng.int(csr.cols);
      while (seen[j] === 1);
      candidates[base + k] = j;
    }
    for (let k = lo; k < hi; k++) seen[csr.indices[k] as number] = 0;
    v++;
  }
  return { train: { rows: csr.rows, cols: csr.cols, indptr, indices, values }, validation: { users, candidates, listLength } };
}

/**
 * HR@k and NDCG@k of the validation lists from their scores ([users · listLength], positive
 * first). Negatives scoring equal to the positive count as ranked ahead of it, as in evaluate().
 */
export function validationMetrics(validation: LooValidation, scores: Float32Array, k = 10): { hr: number; ndcg: number } {
  const n = validation.users.length;
  const L = validation.listLength;
  let hr = 0;
  let ndcg = 0;
  for (let v = 0; v < n; v++) {
    const pos = scores[v * L] as number;
    let ahead = 0;
    for (let c = 1; c < L; c++) {
      const s = scores[v * L + c] as number;
      if (s >= pos || Number.isNaN(pos)) ahead++;
    }
    if (ahead < k) {
      hr++;
      ndcg += 1 / Math.log2(ahead + 2);
    }
  }
  return { hr: n === 0 ? 0 : hr / n, ndcg: n === 0 ? 0 : ndcg / n };
}

/** The (user, item) pairs of the validation lists, for one batched scoring call. */
export function validationPairs(validation: LooValidation): { users: Int32Array; items: Int32Array } {
  const L = validation.listLength;
  const users = new Int32Array(validation.candidates.length);
  validation.users.forEach((u, v) => users.fill(u, v * L, (v + 1) * L));
  return { users, items: validation.candidates };
}

/** Per user, the item of their latest timestamped interaction (-1 without timestamps). */
export function latestItems(interactions: { user: Int32Array; item: Int32Array; timestamp: Float64Array }, nUsers: number): Int32Array {
  const item = new Int32Array(nUsers).fill(-1);
  const time = new Float64Array(nUsers).fill(Number.NEGATIVE_INFINITY);
  for (let r = 0; r < interactions.user.length; r++) {
    const u = interactions.user[r] as number;
    const t = interactions.timestamp[r] as number;
    // ties → the later row, as the ncf-loo protocol breaks them
    if (u >= 0 && u < nUsers && Number.isFinite(t) && t >= (time[u] as number)) {
      time[u] = t;
      item[u] = interactions.item[r] as number;
    }
  }
  return item;
}
