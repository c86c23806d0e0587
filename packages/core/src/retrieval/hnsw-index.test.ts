import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../testing/bundle-fixture.js';
import { ExactIndex } from './exact-index.js';
import { HnswIndex } from './hnsw-index.js';

/** Low-rank vectors look like trained embeddings (a few strong directions), the hard case for HNSW. */
function lowRank(rows: number, dim: number, rank: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const basis = Array.from({ length: rank * dim }, gauss);
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const coef = Array.from({ length: rank }, gauss);
    for (let j = 0; j < dim; j++) {
      let s = 0.05 * gauss();
      for (let c = 0; c < rank; c++) s += (coef[c] as number) * (basis[c * dim + j] as number);
      out[r * dim + j] = s;
    }
  }
  return out;
}

describe('HnswIndex', () => {
  const dim = 32;
  const n = 5000;
  const vectors = lowRank(n, dim, 8, 1);
  const queries = lowRank(100, dim, 8, 2);
  let hnsw: HnswIndex;
  let exact: ExactIndex;

  beforeAll(async () => {
    hnsw = await HnswIndex.build(vectors, dim);
    exact = new ExactIndex(vectors, dim);
  });
  afterAll(() => {
    hnsw.dispose();
    exact.dispose();
  });

  function recallAt10(index: HnswIndex, exclude?: (q: number) => ReadonlySet<number>): number {
    let hit = 0;
    for (let q = 0; q < 100; q++) {
      const query = queries.subarray(q * dim, (q + 1) * dim);
      const ex = exclude?.(q);
      const truth = new Set(exact.search(query, 10, ex).map((h) => h.row));
      for (const h of index.search(query, 10, ex)) if (truth.has(h.row)) hit++;
    }
    return hit / 1000;
  }

  it('reaches recall@10 ≥ 0.95 against exact search on low-rank vectors', () => {
    expect(recallAt10(hnsw)).toBeGreaterThanOrEqual(0.95);
  });

  it('returns exact inner-product scores, best first', () => {
    const query = queries.subarray(0, dim);
    const hits = hnsw.search(query, 10);
    expect(hits).toHaveLength(10);
    for (let i = 1; i < hits.length; i++) expect((hits[i - 1] as { score: number }).score).toBeGreaterThanOrEqual((hits[i] as { score: number }).score);
    for (const h of hits) expect(h.score).toBeCloseTo(exact.score(query, h.row), 4);
  });

  it('keeps recall with excluded items and never returns them', () => {
    const excludeTop = (q: number) => new Set(exact.search(queries.subarray(q * dim, (q + 1) * dim), 20).map((h) => h.row));
    expect(recallAt10(hnsw, excludeTop)).toBeGreaterThanOrEqual(0.95);
    const query = queries.subarray(0, dim);
    const ex = excludeTop(0);
    expect(hnsw.search(query, 10, ex).some((h) => ex.has(h.row))).toBe(false);
  });

  it('falls back to exact search when the filter leaves too few candidates', () => {
    const keep = new Set([3, 77, 4000]);
    const hits = hnsw.search(queries.subarray(0, dim), 10, (r) => !keep.has(r));
    expect(hits.map((h) => h.row).sort((a, b) => a - b)).toEqual([3, 77, 4000]);
  });

  it('searches exactly when the fetch is at least exactFetchShare of the catalogue', async () => {
    const small = vectors.subarray(0, 1000 * dim);
    const hybrid = await HnswIndex.build(small, dim, { exactFetchShare: 1 / 16 });
    const truth = new ExactIndex(small, dim);
    const q = queries.subarray(0, dim);
    const ex = new Set([1, 2, 3]);
    // k 50 fetches 200 of 1,000 (≥ 1/16): the exact answer, scores and all.
    expect(hybrid.search(q, 50, ex)).toEqual(truth.search(q, 50, ex));
    // k 10 fetches 40 (< 1/16 of 1,000): through the graph, with exactly re-ranked scores.
    const hits = hybrid.search(q, 10, ex);
    expect(hits).toHaveLength(10);
    for (const h of hits) expect(h.score).toBeCloseTo(truth.score(q, h.row), 4);
    expect(hnsw.params.exactFetchShare).toBe(0);
    hybrid.dispose();
  });

  it('saves and loads the graph', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tm-hnsw-'));
    try {
      const small = vectors.subarray(0, 300 * dim);
      const built = await HnswIndex.build(small, dim);
      await built.save(join(dir, 'g.bin'));
      const loaded = await HnswIndex.load(join(dir, 'g.bin'), small, dim);
      const q = queries.subarray(0, dim);
      expect(loaded.search(q, 10)).toEqual(built.search(q, 10));
      await expect(HnswIndex.load(join(dir, 'g.bin'), vectors.subarray(0, 200 * dim), dim)).rejects.toThrow(/holds 300 items, expected 200/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serves cosine by normalising', async () => {
    const small = vectors.subarray(0, 500 * dim);
    const index = await HnswIndex.build(small, dim, { metric: 'cosine' });
    const truth = new ExactIndex(small, dim, { metric: 'cosine' });
    const q = queries.subarray(0, dim);
    expect(index.search(q, 5).map((h) => h.row)).toEqual(truth.search(q, 5).map((h) => h.row));
    index.dispose();
    expect(() => index.search(q, 5)).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
  });
});
