import type { Interactions } from '../data/dataset.js';

export { trainSetOf } from '../models/train-set.js';

/** Building blocks the protocols share: grouping interaction rows (TrainSets come from models/train-set). */

/** Row indices of each user's interactions, in file order. */
export function rowsByUser(x: Interactions, nUsers: number): Int32Array[] {
  const counts = new Int32Array(nUsers);
  for (let r = 0; r < x.user.length; r++) {
    const u = x.user[r] as number;
    counts[u] = (counts[u] as number) + 1;
  }
  const out: Int32Array[] = [];
  for (let u = 0; u < nUsers; u++) out.push(new Int32Array(counts[u] as number));
  const fill = new Int32Array(nUsers);
  for (let r = 0; r < x.user.length; r++) {
    const u = x.user[r] as number;
    (out[u] as Int32Array)[fill[u] as number] = r;
    fill[u] = (fill[u] as number) + 1;
  }
  return out;
}

/** Rows flagged in `mask`, ascending. */
export function rowsWhere(mask: Uint8Array): Int32Array {
  let n = 0;
  for (let r = 0; r < mask.length; r++) if (mask[r]) n++;
  const out = new Int32Array(n);
  let j = 0;
  for (let r = 0; r < mask.length; r++) if (mask[r]) out[j++] = r;
  return out;
}
