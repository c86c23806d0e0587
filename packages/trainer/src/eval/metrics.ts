/**
 * Ranking and classification metrics as pure functions over one user's ranked list (or one set of
 * scored pairs). Definitions follow the usual top-K conventions (binary relevance); where papers
 * differ, the choice is stated on the function so numbers can be compared knowingly.
 */

/** Items a user should have been shown; anything with `has` works (Set, or a tiny adapter). */
export interface RelevantSet {
  has(item: number): boolean;
  readonly size: number;
}

/** A ranked list, best first (item indices). Only the first k entries are read. */
export type RankedList = ArrayLike<number>;

function discount(rank0: number): number {
  return 1 / Math.log2(rank0 + 2);
}

/** Number of relevant items within the first k of `ranked`. */
function hitsAtK(ranked: RankedList, relevant: RelevantSet, k: number): number {
  const n = Math.min(k, ranked.length);
  let hits = 0;
  for (let i = 0; i < n; i++) if (relevant.has(ranked[i] as number)) hits++;
  return hits;
}

/**
 * NDCG@k with binary gains. The ideal DCG places min(|relevant|, k) hits at the top, so a user with
 * fewer than k relevant items can still reach 1. 0 when nothing is relevant.
 */
export function ndcgAtK(ranked: RankedList, relevant: RelevantSet, k: number): number {
  if (relevant.size === 0 || k <= 0) return 0;
  const n = Math.min(k, ranked.length);
  let dcg = 0;
  for (let i = 0; i < n; i++) if (relevant.has(ranked[i] as number)) dcg += discount(i);
  let idcg = 0;
  const ideal = Math.min(relevant.size, k);
  for (let i = 0; i < ideal; i++) idcg += discount(i);
  return dcg / idcg;
}

/** 1 if any relevant item is within the first k, else 0 (the NCF paper's HR@k per user). */
export function hitRateAtK(ranked: RankedList, relevant: RelevantSet, k: number): number {
  return hitsAtK(ranked, relevant, k) > 0 ? 1 : 0;
}

/** hits / k — divides by k even when the list is shorter or |relevant| < k (MS Recommenders). */
export function precisionAtK(ranked: RankedList, relevant: RelevantSet, k: number): number {
  if (k <= 0) return 0;
  return hitsAtK(ranked, relevant, k) / k;
}

/** hits / |relevant|; 0 when nothing is relevant. */
export function recallAtK(ranked: RankedList, relevant: RelevantSet, k: number): number {
  if (relevant.size === 0) return 0;
  return hitsAtK(ranked, relevant, k) / relevant.size;
}

/**
 * Average precision at k: the sum of precision@i over the ranks i ≤ k that hold a relevant item,
 * divided by min(|relevant|, k) so a perfect top-k list scores 1 even when |relevant| > k.
 */
export function mapAtK(ranked: RankedList, relevant: RelevantSet, k: number): number {
  if (relevant.size === 0 || k <= 0) return 0;
  const n = Math.min(k, ranked.length);
  let hits = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (relevant.has(ranked[i] as number)) {
      hits++;
      sum += hits / (i + 1);
    }
  }
  return sum / Math.min(relevant.size, k);
}

/** 1 / (rank of the first relevant item) if it is within the first k, else 0. */
export function mrrAtK(ranked: RankedList, relevant: RelevantSet, k: number): number {
  const n = Math.min(k, ranked.length);
  for (let i = 0; i < n; i++) if (relevant.has(ranked[i] as number)) return 1 / (i + 1);
  return 0;
}

/**
 * ROC AUC via the Mann–Whitney U statistic: tied scores share their average rank, so a tie between
 * a positive and a negative counts one half (same value as sklearn's roc_auc_score).
 * NaN when either class is absent, since AUC is undefined there.
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  if (labels.length !== n) throw new RangeError(`auc: ${n} scores but ${labels.length} labels`);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let nPos = 0;
  let rankSumPos = 0;
  let i = 0;
  while (i < n) {
    let j = i + 1;
    const s = scores[order[i] as number] as number;
    while (j < n && scores[order[j] as number] === s) j++;
    // ranks i+1 … j (1-based) share their mean
    const meanRank = (i + 1 + j) / 2;
    for (let t = i; t < j; t++) {
      if ((labels[order[t] as number] as number) > 0) {
        nPos++;
        rankSumPos += meanRank;
      }
    }
    i = j;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * F1 of the positive class when predicting positive for score ≥ threshold (KGCN: `scores >= 0.5`).
 * 0 when there are no true positives.
 */
export function f1AtThreshold(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold = 0.5): number {
  const n = scores.length;
  if (labels.length !== n) throw new RangeError(`f1: ${n} scores but ${labels.length} labels`);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < n; i++) {
    const predicted = (scores[i] as number) >= threshold;
    const actual = (labels[i] as number) > 0;
    if (predicted && actual) tp++;
    else if (predicted) fp++;
    else if (actual) fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/**
 * Catalogue coverage: distinct items recommended to anyone / catalogue size. Negative ids
 * (placeholders for items outside the catalogue) are ignored.
 */
export function catalogCoverage(lists: Iterable<RankedList>, catalogSize: number): number {
  if (catalogSize <= 0) return 0;
  const seen = new Uint8Array(catalogSize);
  let distinct = 0;
  for (const list of lists) {
    for (let i = 0; i < list.length; i++) {
      const item = list[i] as number;
      if (item >= 0 && item < catalogSize && seen[item] === 0) {
        seen[item] = 1;
        distinct++;
      }
    }
  }
  return distinct / catalogSize;
}

/** Items to leave out of a top-K: a set of item indices, or a mask where non-zero means excluded. */
export type ItemFilter = ReadonlySet<number> | Uint8Array;

function inFilter(filter: ItemFilter | undefined, item: number): boolean {
  if (filter === undefined) return false;
  if (filter instanceof Uint8Array) return (filter[item] ?? 0) !== 0;
  return filter.has(item);
}

/**
 * Indices of the k highest scores, best first, skipping `exclude`. NaN counts as -Infinity.
 * Equal scores are ordered by `losesTies` (items in it go after the others — evaluation passes the
 * relevant items here so ties never favour the model), then by ascending index.
 * A size-k heap makes it O(n log k), which matters when ranking a full catalogue per user.
 * Returns fewer than k indices when fewer items remain after exclusion.
 */
export function topK(scores: ArrayLike<number>, k: number, exclude?: ItemFilter, losesTies?: ItemFilter): Int32Array {
  const n = scores.length;
  const cap = Math.max(0, Math.min(k, n));
  if (cap === 0) return new Int32Array(0);
  const key = (i: number): number => {
    const s = scores[i] as number;
    return Number.isNaN(s) ? -Infinity : s;
  };
  const loses = (i: number): number => (inFilter(losesTies, i) ? 1 : 0);
  // `worse(a, b)`: a ranks below b.
  const worse = (a: number, b: number): boolean => {
    const ka = key(a);
    const kb = key(b);
    if (ka !== kb) return ka < kb;
    const la = loses(a);
    const lb = loses(b);
    if (la !== lb) return la > lb;
    return a > b;
  };
  // min-heap on "rank": the root is the worst of the current best `cap`
  const heap = new Int32Array(cap);
  let size = 0;
  const siftUp = (pos: number): void => {
    let p = pos;
    const x = heap[p] as number;
    while (p > 0) {
      const parent = (p - 1) >> 1;
      const y = heap[parent] as number;
      if (!worse(x, y)) break;
      heap[p] = y;
      p = parent;
    }
    heap[p] = x;
  };
  const siftDown = (pos: number): void => {
    let p = pos;
    const x = heap[p] as number;
    for (;;) {
      const l = 2 * p + 1;
      if (l >= size) break;
      const r = l + 1;
      let c = l;
      if (r < size && worse(heap[r] as number, heap[l] as number)) c = r;
      const y = heap[c] as number;
      if (!worse(y, x)) break;
      heap[p] = y;
      p = c;
    }
    heap[p] = x;
  };
  for (let i = 0; i < n; i++) {
    if (inFilter(exclude, i)) continue;
    if (size < cap) {
      heap[size] = i;
      siftUp(size);
      size++;
    } else if (worse(heap[0] as number, i)) {
      heap[0] = i;
      siftDown(0);
    }
  }
  const out = Array.from(heap.subarray(0, size));
  out.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
  return Int32Array.from(out);
}
