import { IdMap, type Dataset } from '../data/dataset.js';
import { Rng } from '../engine/rng.js';

export interface SyntheticOptions {
  users?: number;
  items?: number;
  /** taste clusters ("genres"); every item belongs to one, every user likes one or two */
  clusters?: number;
  /** interactions per user, on average */
  perUser?: number;
  seed?: number;
}

const GENRES = ['ambient', 'blues', 'classical', 'disco', 'electro', 'folk', 'funk', 'jazz', 'metal', 'pop', 'punk', 'reggae'];

/**
 * A small data set with planted structure, so a fresh clone can train and serve without downloading
 * anything: users mostly pick items from their favourite clusters, with a popularity skew inside each
 * cluster. Ratings are 1–5 (higher inside a user's clusters); timestamps increase per user.
 */
export function syntheticDataset(options: SyntheticOptions = {}): Dataset {
  const nUsers = options.users ?? 300;
  const nItems = options.items ?? 240;
  const nClusters = Math.min(options.clusters ?? 8, GENRES.length);
  const perUser = options.perUser ?? 25;
  const rng = new Rng(options.seed ?? 7);

  const users = IdMap.from(Array.from({ length: nUsers }, (_, u) => `user-${String(u + 1).padStart(4, '0')}`));
  const items = IdMap.from(Array.from({ length: nItems }, (_, i) => `item-${String(i + 1).padStart(4, '0')}`));
  const itemCluster = Int32Array.from({ length: nItems }, (_, i) => i % nClusters);
  const byCluster: number[][] = Array.from({ length: nClusters }, () => []);
  itemCluster.forEach((c, i) => byCluster[c]?.push(i));

  const u: number[] = [];
  const it: number[] = [];
  const value: number[] = [];
  const ts: number[] = [];
  const t0 = 1_700_000_000;
  for (let user = 0; user < nUsers; user++) {
    const liked = [rng.int(nClusters)];
    if (rng.next() < 0.5) liked.push(rng.int(nClusters));
    const count = Math.max(5, Math.round(perUser * (0.5 + rng.next())));
    const seen = new Set<number>();
    for (let n = 0; n < count * 3 && seen.size < count; n++) {
      const inTaste = rng.next() < 0.85;
      const cluster = inTaste ? liked[rng.int(liked.length)]! : rng.int(nClusters);
      const pool = byCluster[cluster]!;
      // squaring a uniform draw skews towards the first (most popular) items of the cluster
      const r = rng.next();
      const item = pool[Math.floor(r * r * pool.length)]!;
      if (seen.has(item)) continue;
      seen.add(item);
      u.push(user);
      it.push(item);
      value.push(inTaste ? 4 + rng.int(2) : 1 + rng.int(3));
      ts.push(t0 + user * 10_000 + seen.size * 60);
    }
  }

  const features = new Float32Array(nItems * nClusters);
  itemCluster.forEach((c, i) => {
    features[i * nClusters + c] = 1;
  });
  return {
    name: 'synthetic',
    users,
    items,
    interactions: {
      user: Int32Array.from(u),
      item: Int32Array.from(it),
      value: Float32Array.from(value),
      timestamp: Float64Array.from(ts),
    },
    itemFeatures: { names: GENRES.slice(0, nClusters).map((g) => `genre:${g}`), values: features },
    itemTitles: items.ids.map((id, i) => `${GENRES[itemCluster[i]!]} track ${id.slice(5)}`),
    source: { format: 'synthetic', path: '(generated)' },
  };
}
