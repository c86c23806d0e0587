import { describe, expect, it } from 'vitest';
import { Rng } from '../engine/rng.js';
import {
  auc,
  catalogCoverage,
  f1AtThreshold,
  hitRateAtK,
  mapAtK,
  mrrAtK,
  ndcgAtK,
  precisionAtK,
  recallAtK,
  topK,
} from './metrics.js';

const L = (rank0: number): number => 1 / Math.log2(rank0 + 2);

describe('ranking metrics on a worked example', () => {
  // ranked [5, 3, 9, 1, 7], relevant {3, 7, 8}: hits at 1-based ranks 2 and 5
  const ranked = [5, 3, 9, 1, 7];
  const relevant = new Set([3, 7, 8]);

  it('k = 5', () => {
    // DCG = 1/log2(3) + 1/log2(6) = 0.630930 + 0.386853 = 1.017783
    // IDCG over min(3, 5) = 3 hits = 1 + 0.630930 + 0.5 = 2.130930; NDCG = 0.477624
    expect(ndcgAtK(ranked, relevant, 5)).toBeCloseTo(0.477624, 6);
    expect(ndcgAtK(ranked, relevant, 5)).toBeCloseTo((L(1) + L(4)) / (L(0) + L(1) + L(2)), 12);
    expect(hitRateAtK(ranked, relevant, 5)).toBe(1);
    // 2 hits / k = 2/5
    expect(precisionAtK(ranked, relevant, 5)).toBeCloseTo(0.4, 12);
    // 2 hits / |rel| = 2/3
    expect(recallAtK(ranked, relevant, 5)).toBeCloseTo(2 / 3, 12);
    // AP = (P@2 + P@5) / min(3, 5) = (1/2 + 2/5) / 3 = 0.9 / 3 = 0.3
    expect(mapAtK(ranked, relevant, 5)).toBeCloseTo(0.3, 12);
    // first hit at rank 2
    expect(mrrAtK(ranked, relevant, 5)).toBeCloseTo(0.5, 12);
  });

  it('k = 2', () => {
    // DCG = 1/log2(3) = 0.630930; IDCG over min(3, 2) = 2 = 1 + 0.630930; NDCG = 0.386853
    expect(ndcgAtK(ranked, relevant, 2)).toBeCloseTo(0.386853, 6);
    expect(hitRateAtK(ranked, relevant, 2)).toBe(1);
    // 1 hit / 2
    expect(precisionAtK(ranked, relevant, 2)).toBeCloseTo(0.5, 12);
    // 1 hit / 3
    expect(recallAtK(ranked, relevant, 2)).toBeCloseTo(1 / 3, 12);
    // AP = (1/2) / min(3, 2) = 0.25
    expect(mapAtK(ranked, relevant, 2)).toBeCloseTo(0.25, 12);
    expect(mrrAtK(ranked, relevant, 2)).toBeCloseTo(0.5, 12);
  });

  it('k = 1 has no hit', () => {
    for (const f of [ndcgAtK, hitRateAtK, precisionAtK, recallAtK, mapAtK, mrrAtK]) expect(f(ranked, relevant, 1)).toBe(0);
  });

  it('a perfect list scores 1 when |relevant| < k, and precision still divides by k', () => {
    const rel = new Set([4, 2]);
    // [4, 2, ...]: DCG = IDCG = 1 + 1/log2(3)
    expect(ndcgAtK([4, 2, 0, 1], rel, 10)).toBeCloseTo(1, 12);
    expect(mapAtK([4, 2, 0, 1], rel, 10)).toBeCloseTo(1, 12);
    // 2 hits / 10
    expect(precisionAtK([4, 2, 0, 1], rel, 10)).toBeCloseTo(0.2, 12);
    expect(recallAtK([4, 2, 0, 1], rel, 10)).toBe(1);
  });

  it('a perfect top-k list scores 1 in NDCG and MAP when |relevant| > k', () => {
    const rel = new Set([0, 1, 2, 3, 4]);
    expect(ndcgAtK([0, 1], rel, 2)).toBeCloseTo(1, 12);
    // AP = (1/1 + 2/2) / min(5, 2) = 1
    expect(mapAtK([0, 1], rel, 2)).toBeCloseTo(1, 12);
    // 2 / 5
    expect(recallAtK([0, 1], rel, 2)).toBeCloseTo(0.4, 12);
  });

  it('no relevant items gives 0, not NaN', () => {
    const none = new Set<number>();
    for (const f of [ndcgAtK, hitRateAtK, precisionAtK, recallAtK, mapAtK, mrrAtK]) expect(f([1, 2, 3], none, 3)).toBe(0);
  });
});

describe('auc', () => {
  it('matches the sklearn docs example', () => {
    // positives 0.35, 0.8; negatives 0.1, 0.4: pairs won 0.35>0.1, 0.8>0.1, 0.8>0.4 → 3/4
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 12);
  });

  it('counts a positive/negative tie as one half', () => {
    // positives {0.5, 0.9}, negatives {0.5, 0.2}: 0.5 vs 0.5 = ½, the other three pairs won → 3.5/4
    expect(auc([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1])).toBeCloseTo(0.875, 12);
    // everything tied → 0.5
    expect(auc([1, 1, 1, 1], [1, 0, 1, 0])).toBeCloseTo(0.5, 12);
  });

  it('is NaN with a single class', () => {
    expect(auc([0.1, 0.2], [1, 1])).toBeNaN();
  });

  it('agrees with the pair-counting definition on random data with ties', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 20; trial++) {
      const n = 2 + rng.int(40);
      const s = Array.from({ length: n }, () => rng.int(6) / 5);
      const y = Array.from({ length: n }, () => rng.int(2));
      let num = 0;
      let den = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (y[i] === 1 && y[j] === 0) {
            den++;
            num += s[i]! > s[j]! ? 1 : s[i] === s[j] ? 0.5 : 0;
          }
        }
      }
      if (den === 0) expect(auc(s, y)).toBeNaN();
      else expect(auc(s, y)).toBeCloseTo(num / den, 12);
    }
  });
});

describe('f1AtThreshold', () => {
  it('predicts positive at score ≥ 0.5', () => {
    // predicted positive: 0.9, 0.6, 0.5 → TP 2 (0.9, 0.5), FP 1 (0.6), FN 1 (0.2)
    // F1 = 2·2 / (2·2 + 1 + 1) = 4/6
    expect(f1AtThreshold([0.9, 0.6, 0.5, 0.2, 0.4], [1, 0, 1, 1, 0])).toBeCloseTo(2 / 3, 12);
  });
  it('is 0 without true positives', () => {
    expect(f1AtThreshold([0.1, 0.9], [1, 0])).toBe(0);
  });
});

describe('catalogCoverage', () => {
  it('counts distinct recommended items over the catalogue, ignoring placeholders', () => {
    // items {0, 1, 2} of 10
    expect(catalogCoverage([[0, 1], [1, 2], Int32Array.of(2, -1)], 10)).toBeCloseTo(0.3, 12);
  });
});

describe('topK', () => {
  const scores = Float32Array.of(0.1, 0.9, 0.5, 0.9, 0.3);

  it('orders by score, equal scores by index', () => {
    expect([...topK(scores, 3)]).toEqual([1, 3, 2]);
  });
  it('skips excluded items (set or mask)', () => {
    expect([...topK(scores, 3, new Set([1]))]).toEqual([3, 2, 4]);
    expect([...topK(scores, 3, Uint8Array.of(0, 1, 0, 0, 0))]).toEqual([3, 2, 4]);
  });
  it('puts losesTies items after equal scores', () => {
    expect([...topK(scores, 3, undefined, new Set([1]))]).toEqual([3, 1, 2]);
  });
  it('returns fewer than k when items run out, and treats NaN as lowest', () => {
    expect([...topK(Float32Array.of(Number.NaN, -1, 2), 5, new Set([2]))]).toEqual([1, 0]);
    expect(topK(scores, 0).length).toBe(0);
  });
  it('matches a full sort on random scores with ties', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + rng.int(200);
      const s = new Float32Array(n).map(() => rng.int(20));
      const k = 1 + rng.int(30);
      const ex = new Set<number>();
      for (let i = 0; i < n; i++) if (rng.next() < 0.2) ex.add(i);
      const expected = [...Array(n).keys()]
        .filter((i) => !ex.has(i))
        .sort((a, b) => s[b]! - s[a]! || a - b)
        .slice(0, k);
      expect([...topK(s, k, ex)]).toEqual(expected);
    }
  });
});
