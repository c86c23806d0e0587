import { describe, expect, it } from 'vitest';
import { randomVectors } from '../testing/bundle-fixture.js';
import { ExactIndex, normalizeRows } from './exact-index.js';
import { topK } from './top-k.js';

function naive(vectors: Float32Array, dim: number, q: Float32Array, k: number, skip: (r: number) => boolean = () => false) {
  const scored: { row: number; score: number }[] = [];
  for (let r = 0; r < vectors.length / dim; r++) {
    if (skip(r)) continue;
    let s = 0;
    for (let j = 0; j < dim; j++) s += (q[j] as number) * (vectors[r * dim + j] as number);
    scored.push({ row: r, score: s });
  }
  return scored.sort((a, b) => b.score - a.score || a.row - b.row).slice(0, k);
}

describe('topK', () => {
  it('returns the best k, best first, lower row first on ties, skipping NaN and excluded rows', () => {
    const scores = [0.5, 2, NaN, 2, -1, 3, 0.5];
    expect(topK(scores, 3)).toEqual([
      { row: 5, score: 3 },
      { row: 1, score: 2 },
      { row: 3, score: 2 },
    ]);
    expect(topK(scores, 3, new Set([5, 1])).map((h) => h.row)).toEqual([3, 0, 6]);
    expect(topK(scores, 100).length).toBe(6);
    expect(topK(scores, 0)).toEqual([]);
  });
});

describe('ExactIndex', () => {
  const dim = 16;
  const vectors = randomVectors(500, dim, 3);

  it('matches a naive sort by inner product', () => {
    const index = new ExactIndex(vectors, dim);
    for (let t = 0; t < 5; t++) {
      const q = randomVectors(1, dim, 100 + t);
      const got = index.search(q, 10);
      const want = naive(vectors, dim, q, 10);
      expect(got.map((h) => h.row)).toEqual(want.map((h) => h.row));
      got.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]?.score as number, 4));
    }
  });

  it('excludes by set and by predicate', () => {
    const index = new ExactIndex(vectors, dim);
    const q = randomVectors(1, dim, 9);
    const top = index.search(q, 5).map((h) => h.row);
    const bySet = index.search(q, 5, new Set(top.slice(0, 2))).map((h) => h.row);
    expect(bySet.slice(0, 3)).toEqual(top.slice(2));
    expect(bySet).not.toContain(top[0]);
    const even = index.search(q, 5, (r) => r % 2 === 0);
    expect(even.every((h) => h.row % 2 === 1)).toBe(true);
    expect(even.map((h) => h.row)).toEqual(naive(vectors, dim, q, 5, (r) => r % 2 === 0).map((h) => h.row));
  });

  it('scores cosine on normalised vectors', () => {
    const index = new ExactIndex(vectors, dim, { metric: 'cosine' });
    const q = randomVectors(1, dim, 11);
    const hits = index.search(q, 3);
    const want = naive(normalizeRows(vectors, dim), dim, normalizeRows(q, dim), 3);
    expect(hits.map((h) => h.row)).toEqual(want.map((h) => h.row));
    expect(Math.abs(hits[0]?.score as number)).toBeLessThanOrEqual(1.000001);
  });

  it('caps k at the catalogue size and refuses bad input', () => {
    const index = new ExactIndex(vectors.subarray(0, 3 * dim), dim);
    expect(index.search(randomVectors(1, dim, 1), 10)).toHaveLength(3);
    expect(() => index.search(new Float32Array(dim - 1), 1)).toThrow(/dimension/);
    expect(() => new ExactIndex(new Float32Array(10), 3)).toThrow(/not rows/);
    expect(() => new ExactIndex(vectors, dim, { metric: 'l2' as 'ip' })).toThrow(/Valid values: "ip", "cosine"/);
  });

  it('throws DISPOSED after dispose', () => {
    const index = new ExactIndex(vectors, dim);
    index.dispose();
    expect(() => index.search(randomVectors(1, dim, 1), 1)).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
  });
});
