/**
 * Labelled (user, item, label) examples for pointwise training (logistic loss on one pair at a time:
 * LR, FM, Wide & Deep, DLRM, NCF). Either the data set's explicit labels (rated and liked vs rated
 * and not liked) or implicit positives with negatives drawn from the items a user never touched.
 */
import { TastemakerError } from '@tastemaker/core';
import type { Csr, Dataset } from '../../data/dataset.js';
import type { Rng } from '../../engine/rng.js';
import { sortedSliceContains } from '../../data/csr.js';

/** Parallel arrays of equal length; label 1 = positive, 0 = negative. */
export interface LabelledPairs {
  user: Int32Array;
  item: Int32Array;
  label: Float32Array;
}

export function pairCount(p: LabelledPairs): number {
  return p.user.length;
}

/** Pairs at positions `rows` of `p`, in that order. */
export function selectPairs(p: LabelledPairs, rows: ArrayLike<number>): LabelledPairs {
  const n = rows.length;
  const out: LabelledPairs = { user: new Int32Array(n), item: new Int32Array(n), label: new Float32Array(n) };
  for (let k = 0; k < n; k++) {
    const r = rows[k] as number;
    out.user[k] = p.user[r] as number;
    out.item[k] = p.item[r] as number;
    out.label[k] = p.label[r] as number;
  }
  return out;
}

export function concatPairs(parts: readonly LabelledPairs[]): LabelledPairs {
  const n = parts.reduce((s, p) => s + p.user.length, 0);
  const out: LabelledPairs = { user: new Int32Array(n), item: new Int32Array(n), label: new Float32Array(n) };
  let o = 0;
  for (const p of parts) {
    out.user.set(p.user, o);
    out.item.set(p.item, o);
    out.label.set(p.label, o);
    o += p.user.length;
  }
  return out;
}

/** Shuffles the pairs in place (one permutation applied to all three arrays). */
export function shufflePairs(p: LabelledPairs, rng: Rng): LabelledPairs {
  const { user, item, label } = p;
  for (let i = user.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const u = user[i] as number;
    user[i] = user[j] as number;
    user[j] = u;
    const it = item[i] as number;
    item[i] = item[j] as number;
    item[j] = it;
    const l = label[i] as number;
    label[i] = label[j] as number;
    label[j] = l;
  }
  return p;
}

/**
 * Every interaction of `dataset` as a labelled pair: label 1 where `isPositive(value)`, else 0
 * (e.g. ML-100K ratings with rating ≥ 4 positive). Repeated (user, item) rows stay repeated.
 */
export function explicitPairs(dataset: Dataset, isPositive: (value: number) => boolean): LabelledPairs {
  const { user, item, value } = dataset.interactions;
  const label = new Float32Array(value.length);
  for (let r = 0; r < value.length; r++) label[r] = isPositive(value[r] as number) ? 1 : 0;
  return { user: Int32Array.from(user), item: Int32Array.from(item), label };
}

export interface NegativeSamplerOptions {
  /**
   * Negatives per positive. A fractional ratio is honoured in expectation: each positive gets
   * floor(ratio) negatives plus one more with probability ratio − floor(ratio).
   */
  ratio: number;
  /**
   * Items that must never be drawn as a user's negatives, user → items (ascending per row); by
   * default the positives themselves. Pass the full positives when `positives` is only a part of
   * them (a validation split), so a held-out positive is never labelled negative.
   */
  exclude?: Csr;
}

/** Rejection sampling gives up after this many draws and falls back to an explicit pool. */
const MAX_REJECTIONS = 64;

/**
 * Draws negatives for implicit positives: per positive (u, i), `ratio` items drawn uniformly from
 * those u never interacted with (with replacement across positives, as NCF and most pointwise
 * recommenders do). Call `sample` once per epoch for fresh negatives.
 */
export class NegativeSampler {
  readonly positives: Csr;
  readonly exclude: Csr;
  readonly ratio: number;

  constructor(positives: Csr, options: NegativeSamplerOptions) {
    const { ratio } = options;
    if (!Number.isFinite(ratio) || ratio < 0) {
      throw new TastemakerError('INVALID_CONFIG', `Invalid negative sampling ratio ${JSON.stringify(ratio)}: it must be a number ≥ 0.`, { option: 'negatives', got: ratio });
    }
    const exclude = options.exclude ?? positives;
    if (exclude.rows !== positives.rows || exclude.cols !== positives.cols) {
      throw new TastemakerError('INVALID_ARGUMENT', `NegativeSampler: exclude is ${exclude.rows}x${exclude.cols} but positives are ${positives.rows}x${positives.cols}`);
    }
    this.positives = positives;
    this.exclude = exclude;
    this.ratio = ratio;
  }

  /** Every positive (label 1) followed by its negatives (label 0); users with no free item get none. */
  sample(rng: Rng): LabelledPairs {
    const { positives: pos, exclude: ex, ratio } = this;
    const nItems = pos.cols;
    const whole = Math.floor(ratio);
    const frac = ratio - whole;
    const nPos = pos.indptr[pos.rows] as number;
    const cap = nPos * (whole + (frac > 0 ? 1 : 0)) + nPos;
    const user = new Int32Array(cap);
    const item = new Int32Array(cap);
    const label = new Float32Array(cap);
    let n = 0;
    for (let u = 0; u < pos.rows; u++) {
      const lo = ex.indptr[u] as number;
      const hi = ex.indptr[u + 1] as number;
      const free = nItems - (hi - lo);
      let pool: Int32Array | undefined;
      for (let q = pos.indptr[u] as number; q < (pos.indptr[u + 1] as number); q++) {
        user[n] = u;
        item[n] = pos.indices[q] as number;
        label[n] = 1;
        n++;
        if (free <= 0) continue;
        const count = whole + (frac > 0 && rng.next() < frac ? 1 : 0);
        for (let c = 0; c < count; c++) {
          let j = -1;
          for (let t = 0; t < MAX_REJECTIONS; t++) {
            const cand = rng.int(nItems);
            if (!sortedSliceContains(ex.indices, lo, hi, cand)) {
              j = cand;
              break;
            }
          }
          if (j < 0) {
            // a user who has seen nearly everything: draw from the explicit complement instead
            pool ??= complement(ex.indices.subarray(lo, hi), nItems);
            j = pool[rng.int(pool.length)] as number;
          }
          user[n] = u;
          item[n] = j;
          label[n] = 0;
          n++;
        }
      }
    }
    return { user: user.slice(0, n), item: item.slice(0, n), label: label.slice(0, n) };
  }
}

/** Items in [0, nItems) not in the ascending `taken`. */
function complement(taken: Int32Array, nItems: number): Int32Array {
  const out = new Int32Array(nItems - taken.length);
  let k = 0;
  let t = 0;
  for (let i = 0; i < nItems; i++) {
    if (t < taken.length && taken[t] === i) {
      t++;
      continue;
    }
    out[k++] = i;
  }
  return out;
}
