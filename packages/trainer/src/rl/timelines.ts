import type { Dataset } from '../data/dataset.js';

/**
 * Each user's ratings in the order they were given: ascending timestamp, ties (and rows without a
 * timestamp) in file order. The Dataset keeps interactions in file order, and MovieLens files are
 * not sorted by time within a user, so the RL state ("the last N items the user liked") needs this.
 */
export interface UserTimelines {
  /** items[u]: user u's items, oldest first */
  items: Int32Array[];
  /** ratings[u][j]: the rating of items[u][j] */
  ratings: Float32Array[];
}

export function userTimelines(dataset: Pick<Dataset, 'interactions' | 'users'>): UserTimelines {
  const { user, item, value, timestamp } = dataset.interactions;
  const nUsers = dataset.users.size;
  const counts = new Int32Array(nUsers);
  for (let r = 0; r < user.length; r++) counts[user[r]!]!++;
  const rows: Int32Array[] = Array.from({ length: nUsers }, (_, u) => new Int32Array(counts[u]!));
  const fill = new Int32Array(nUsers);
  for (let r = 0; r < user.length; r++) {
    const u = user[r]!;
    rows[u]![fill[u]!++] = r;
  }
  const key = (r: number): number => {
    const t = timestamp[r]!;
    return Number.isNaN(t) ? -Infinity : t;
  };
  const items: Int32Array[] = [];
  const ratings: Float32Array[] = [];
  for (let u = 0; u < nUsers; u++) {
    // Array.prototype.sort is stable, so equal timestamps keep file order
    const order = Array.from(rows[u]!).sort((a, b) => key(a) - key(b));
    items.push(Int32Array.from(order, (r) => item[r]!));
    ratings.push(Float32Array.from(order, (r) => value[r]!));
  }
  return { items, ratings };
}

/** The items of a timeline rated at least `threshold`, oldest first. */
export function positiveItems(items: Int32Array, ratings: Float32Array, threshold: number): Int32Array {
  const out: number[] = [];
  for (let j = 0; j < items.length; j++) if (ratings[j]! >= threshold) out.push(items[j]!);
  return Int32Array.from(out);
}
