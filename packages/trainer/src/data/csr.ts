import { TastemakerError } from '@tastemaker/core';
import type { Csr, Dataset, Interactions } from './dataset.js';

function isDataset(source: Dataset | Interactions): source is Dataset {
  return 'interactions' in source;
}

function maxPlusOne(a: Int32Array): number {
  let m = -1;
  for (let k = 0; k < a.length; k++) if ((a[k] as number) > m) m = a[k] as number;
  return m + 1;
}

/**
 * User → items matrix from interactions: items ascending within each row, one entry per
 * (user, item), the value of the last occurrence in input order winning. Two stable counting
 * sorts (by item, then by user) order the entries in O(n + users + items) without comparisons.
 * Sizes default to the data set's vocabularies, or to the largest index + 1 for bare interactions.
 */
export function toCsr(source: Dataset | Interactions, nUsers?: number, nItems?: number): Csr {
  const x = isDataset(source) ? source.interactions : source;
  const rows = nUsers ?? (isDataset(source) ? source.users.size : maxPlusOne(x.user));
  const cols = nItems ?? (isDataset(source) ? source.items.size : maxPlusOne(x.item));
  const n = x.user.length;
  if (x.item.length !== n || x.value.length !== n) {
    throw new TastemakerError('INVALID_ARGUMENT', `interactions arrays differ in length: user ${n}, item ${x.item.length}, value ${x.value.length}`);
  }

  const itemStart = new Int32Array(cols + 1);
  for (let k = 0; k < n; k++) {
    const it = x.item[k] as number;
    if (it < 0 || it >= cols) throw new TastemakerError('INVALID_ARGUMENT', `item index ${it} at interaction ${k} is outside [0, ${cols})`);
    itemStart[it + 1]!++;
  }
  for (let c = 0; c < cols; c++) itemStart[c + 1]! += itemStart[c] as number;
  const byItem = new Int32Array(n);
  for (let k = 0; k < n; k++) byItem[itemStart[x.item[k] as number]!++] = k;

  const userStart = new Int32Array(rows + 1);
  for (let k = 0; k < n; k++) {
    const u = x.user[k] as number;
    if (u < 0 || u >= rows) throw new TastemakerError('INVALID_ARGUMENT', `user index ${u} at interaction ${k} is outside [0, ${rows})`);
    userStart[u + 1]!++;
  }
  for (let r = 0; r < rows; r++) userStart[r + 1]! += userStart[r] as number;
  const order = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    const k = byItem[j] as number;
    order[userStart[x.user[k] as number]!++] = k;
  }

  const indptr = new Int32Array(rows + 1);
  const indices = new Int32Array(n);
  const values = new Float32Array(n);
  let nnz = 0;
  let prevUser = -1;
  let prevItem = -1;
  for (let j = 0; j < n; j++) {
    const k = order[j] as number;
    const u = x.user[k] as number;
    const it = x.item[k] as number;
    if (u === prevUser && it === prevItem) {
      values[nnz - 1] = x.value[k] as number;
      continue;
    }
    indices[nnz] = it;
    values[nnz] = x.value[k] as number;
    nnz++;
    indptr[u + 1]!++;
    prevUser = u;
    prevItem = it;
  }
  for (let r = 0; r < rows; r++) indptr[r + 1]! += indptr[r] as number;
  return {
    rows,
    cols,
    indptr,
    indices: nnz === n ? indices : indices.slice(0, nnz),
    values: nnz === n ? values : values.slice(0, nnz),
  };
}

/**
 * The same matrix with each row in the order its interactions happened: ascending timestamp of the
 * (user, item) pair's last occurrence (pairs without one first), ties in input order. Rows are
 * then no longer sorted by item (csrHas does not apply); bundles whose graphs read the most recent
 * history (sequence rankers such as kg-song) are written from it, so serving sees training's order.
 */
export function timeOrderedRows(csr: Csr, x: Interactions): Csr {
  // (user, item) → [timestamp, input position] of its last occurrence
  const when = new Map<number, number>();
  for (let k = 0; k < x.user.length; k++) when.set((x.user[k] as number) * csr.cols + (x.item[k] as number), k);
  const indices = new Int32Array(csr.indices.length);
  const values = new Float32Array(csr.values.length);
  for (let u = 0; u < csr.rows; u++) {
    const start = csr.indptr[u] as number;
    const end = csr.indptr[u + 1] as number;
    const entries = Array.from({ length: end - start }, (_, j) => start + j);
    const pos = (e: number): number => when.get(u * csr.cols + (csr.indices[e] as number)) ?? Number.MAX_SAFE_INTEGER;
    const time = (e: number): number => {
      const k = pos(e);
      const t = k === Number.MAX_SAFE_INTEGER ? Number.NaN : (x.timestamp[k] as number);
      return Number.isFinite(t) ? t : Number.NEGATIVE_INFINITY;
    };
    // with no timestamp at all in the row, input order alone decides
    entries.sort((a, b) => time(a) - time(b) || pos(a) - pos(b));
    entries.forEach((e, j) => {
      indices[start + j] = csr.indices[e] as number;
      values[start + j] = csr.values[e] as number;
    });
  }
  return { rows: csr.rows, cols: csr.cols, indptr: csr.indptr, indices, values };
}

/** True when `item` is in the ascending slice indices[start, end) (binary search). */
export function sortedSliceContains(indices: Int32Array, start: number, end: number, item: number): boolean {
  let lo = start;
  let hi = end - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = indices[mid] as number;
    if (v === item) return true;
    if (v < item) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** True when row `user` of the matrix holds `item` (rows are sorted by item). */
export function csrHas(csr: Csr, user: number, item: number): boolean {
  return sortedSliceContains(csr.indices, csr.indptr[user] as number, csr.indptr[user + 1] as number, item);
}

/** The items of row `user`, a view into the matrix. */
/** A CSR whose row u holds rows[u] in the given order (unit values): e.g. each user's positives oldest first. */
export function csrOfRows(rows: readonly Int32Array[], cols: number): Csr {
  const indptr = new Int32Array(rows.length + 1);
  rows.forEach((r, u) => (indptr[u + 1] = indptr[u]! + r.length));
  const indices = new Int32Array(indptr[rows.length]!);
  rows.forEach((r, u) => indices.set(r, indptr[u]!));
  return { rows: rows.length, cols, indptr, indices, values: new Float32Array(indices.length).fill(1) };
}

export function csrRow(csr: Csr, user: number): Int32Array {
  return csr.indices.subarray(csr.indptr[user] as number, csr.indptr[user + 1] as number);
}

/**
 * Per item, how many users interacted with it positively (value > 0, so Last.FM KG's sampled
 * negatives with label 0 do not count); a data set is deduplicated through toCsr first.
 */
export function popularity(source: Csr | Dataset): Float32Array {
  const csr = 'indptr' in source ? source : toCsr(source);
  const counts = new Float32Array(csr.cols);
  for (let j = 0; j < csr.indices.length; j++) {
    if ((csr.values[j] as number) > 0) counts[csr.indices[j] as number]! += 1;
  }
  return counts;
}
