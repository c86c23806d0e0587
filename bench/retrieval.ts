import { ExactIndex, HnswIndex } from '@tastemaker/core';
import type { Rng } from '@tastemaker/trainer';

export interface RetrievalResult {
  items: number;
  dim: number;
  queries: number;
  k: number;
  params: HnswIndex['params'];
  buildSeconds: number;
  recallAt10: number;
  hnswQps: number;
  exactQps: number;
  /** hnsw queries/s ÷ exact queries/s, measured in the same run */
  speedup: number;
}

/** HNSW recall@k against exact inner-product search on the same vectors, and both query rates. */
export async function measureRetrieval(items: Float32Array, dim: number, queries: Float32Array, k = 10): Promise<RetrievalResult> {
  const nQueries = queries.length / dim;
  const exact = new ExactIndex(items, dim, { metric: 'ip' });
  const t0 = performance.now();
  const hnsw = await HnswIndex.build(items, dim, { metric: 'ip' });
  const buildSeconds = (performance.now() - t0) / 1000;

  const truth: Set<number>[] = [];
  let t = performance.now();
  for (let q = 0; q < nQueries; q++) truth.push(new Set(exact.search(queries.subarray(q * dim, (q + 1) * dim), k).map((h) => h.row)));
  const exactSeconds = (performance.now() - t) / 1000;

  let hits = 0;
  t = performance.now();
  for (let q = 0; q < nQueries; q++) {
    for (const h of hnsw.search(queries.subarray(q * dim, (q + 1) * dim), k)) if (truth[q]!.has(h.row)) hits++;
  }
  const hnswSeconds = (performance.now() - t) / 1000;
  const result: RetrievalResult = {
    items: items.length / dim,
    dim,
    queries: nQueries,
    k,
    params: hnsw.params,
    buildSeconds: round(buildSeconds),
    recallAt10: round(hits / (nQueries * k)),
    hnswQps: Math.round(nQueries / hnswSeconds),
    exactQps: Math.round(nQueries / exactSeconds),
    speedup: round(exactSeconds / hnswSeconds),
  };
  hnsw.dispose();
  exact.dispose();
  return result;
}

/** Low-rank vectors (rank r, plus a little noise), the shape real item embeddings have. */
export function lowRankVectors(rng: Rng, n: number, dim: number, rank = 8): Float32Array {
  const basis = Float32Array.from({ length: rank * dim }, () => rng.normal());
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const coef = Array.from({ length: rank }, () => rng.normal());
    for (let j = 0; j < dim; j++) {
      let v = 0.05 * rng.normal();
      for (let r = 0; r < rank; r++) v += coef[r]! * basis[r * dim + j]!;
      out[i * dim + j] = v;
    }
  }
  return out;
}

export const round = (x: number): number => Math.round(x * 1e4) / 1e4;
