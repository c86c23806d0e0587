import { isExcluded, type ExcludeFilter, type SearchHit } from './types.js';

/**
 * The k highest scores, best first, skipping excluded rows and NaN. Ties keep the lower row first so
 * results are deterministic. A bounded min-heap keeps this O(n log k) over millions of items.
 */
export function topK(scores: ArrayLike<number>, k: number, exclude?: ExcludeFilter): SearchHit[] {
  if (k <= 0) return [];
  const skip = isExcluded(exclude);
  const heapRows = new Int32Array(k);
  const heapScores = new Float64Array(k);
  let size = 0;
  // "worse" in heap order: lower score, or equal score and higher row.
  const worse = (a: number, b: number) =>
    (heapScores[a] as number) < (heapScores[b] as number) ||
    ((heapScores[a] as number) === (heapScores[b] as number) && (heapRows[a] as number) > (heapRows[b] as number));
  const swap = (a: number, b: number) => {
    const r = heapRows[a] as number;
    heapRows[a] = heapRows[b] as number;
    heapRows[b] = r;
    const s = heapScores[a] as number;
    heapScores[a] = heapScores[b] as number;
    heapScores[b] = s;
  };
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && worse(l, m)) m = l;
      if (r < size && worse(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  for (let row = 0; row < scores.length; row++) {
    const s = scores[row] as number;
    if (Number.isNaN(s) || skip(row)) continue;
    if (size < k) {
      heapRows[size] = row;
      heapScores[size] = s;
      let i = size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(i, p)) break;
        swap(i, p);
        i = p;
      }
    } else if (s > (heapScores[0] as number)) {
      heapRows[0] = row;
      heapScores[0] = s;
      siftDown(0);
    }
  }
  const hits: SearchHit[] = [];
  for (let i = 0; i < size; i++) hits.push({ row: heapRows[i] as number, score: heapScores[i] as number });
  return hits.sort((a, b) => b.score - a.score || a.row - b.row);
}
