import { describe, expect, it } from 'vitest';
import { IdMap, type Csr, type Dataset } from '../data/dataset.js';
import type { TrainedModel } from '../models/types.js';
import { evaluate } from './evaluate.js';
import type { PairTest, RankingTest, Split } from './protocols.js';
import { toCsr } from '../data/csr.js';

/** A TrainedModel whose score for (u, i) is `score(u, i)`; records the histories it was given. */
function fakeModel(nUsers: number, nItems: number, score: (u: number, i: number) => number) {
  const calls: { users: number[]; histories: number[][] }[] = [];
  const model: TrainedModel = {
    id: 'popularity',
    nUsers,
    nItems,
    info: { backend: 'typed-arrays', params: {} },
    async scoreBatch(users, histories) {
      calls.push({ users: [...users], histories: histories.map((h) => [...h]) });
      const out = new Float32Array(users.length * nItems);
      users.forEach((u, b) => {
        for (let i = 0; i < nItems; i++) out[b * nItems + i] = score(u, i);
      });
      return out;
    },
    exportSpec() {
      return { kind: 'popularity', scores: new Float32Array(nItems) };
    },
    dispose() {},
  };
  return { model, calls };
}

function splitOf(trainRows: [number, number][], nUsers: number, nItems: number, test: RankingTest | PairTest): Split {
  const dataset: Dataset = {
    name: 'synthetic',
    users: IdMap.from(Array.from({ length: nUsers }, (_, u) => `u${u}`)),
    items: IdMap.from(Array.from({ length: nItems }, (_, i) => `i${i}`)),
    interactions: {
      user: Int32Array.from(trainRows, (r) => r[0]),
      item: Int32Array.from(trainRows, (r) => r[1]),
      value: new Float32Array(trainRows.length).fill(1),
      timestamp: new Float64Array(trainRows.length).fill(Number.NaN),
    },
  };
  const csr: Csr = toCsr(dataset);
  return { protocol: 'ratio-75', train: { dataset, csr }, test, notes: [] };
}

describe('evaluate on a full-catalogue ranking test', () => {
  // one user, 20 items; train items 0–4 (masked), relevant {5, 6}
  const train: [number, number][] = [0, 1, 2, 3, 4].map((i) => [0, i]);
  const test: RankingTest = { kind: 'ranking', users: Int32Array.of(0), relevant: [Int32Array.of(5, 6)] };
  const split = splitOf(train, 1, 20, test);
  const isTrain = (i: number): boolean => i < 5;

  it('gives a perfect ranker 1 everywhere except precision', async () => {
    // train items score highest: they must be masked, not ranked
    const { model, calls } = fakeModel(1, 20, (_u, i) => (isTrain(i) ? 100 : i === 5 || i === 6 ? 1 : 0));
    const m = await evaluate(model, split);
    expect(Object.keys(m).sort()).toEqual(['coverage', 'hr@10', 'map@10', 'mrr@10', 'ndcg@10', 'precision@10', 'recall@10']);
    expect(m['ndcg@10']).toBeCloseTo(1, 12);
    expect(m['hr@10']).toBe(1);
    expect(m['recall@10']).toBe(1);
    expect(m['map@10']).toBeCloseTo(1, 12);
    expect(m['mrr@10']).toBe(1);
    // 2 hits / 10
    expect(m['precision@10']).toBeCloseTo(0.2, 12);
    // 10 distinct items recommended out of 20
    expect(m.coverage).toBeCloseTo(0.5, 12);
    // histories come from the train CSR
    expect(calls[0]!.histories).toEqual([[0, 1, 2, 3, 4]]);
  });

  it('gives a reversed ranker the hand-computed values', async () => {
    // score = i: among the 15 unmasked items the order is 19, 18, …, 6, 5 → item 6 at rank 14, item 5 at 15
    const { model } = fakeModel(1, 20, (_u, i) => (isTrain(i) ? 100 : i));
    const m = await evaluate(model, split, { k: 15 });
    // DCG = 1/log2(15) + 1/log2(16) = 0.255958 + 0.25 = 0.505958; IDCG = 1 + 1/log2(3) = 1.630930
    expect(m['ndcg@15']).toBeCloseTo(0.310227, 6);
    expect(m['hr@15']).toBe(1);
    // 2 / 15
    expect(m['precision@15']).toBeCloseTo(2 / 15, 12);
    expect(m['recall@15']).toBe(1);
    // (1/14 + 2/15) / min(2, 15) = 0.102381
    expect(m['map@15']).toBeCloseTo(0.102381, 6);
    expect(m['mrr@15']).toBeCloseTo(1 / 14, 12);
    // at k = 10 it misses entirely
    const m10 = await evaluate(model, split);
    expect(m10['ndcg@10']).toBe(0);
    expect(m10['hr@10']).toBe(0);
  });

  it('does not break ties in the model\'s favour', async () => {
    const { model } = fakeModel(1, 20, () => 0);
    const m = await evaluate(model, split);
    // all 15 unmasked items tie; the 2 relevant ones go last (ranks 14, 15)
    expect(m['hr@10']).toBe(0);
  });
});

describe('evaluate on a candidate-list (ncf-loo) test', () => {
  it('counts a negative tied with the positive as ahead and scores unknown candidates as the mean of known negatives', async () => {
    // candidates: positive 0 (0.5), 1 (0.2), 2 (0.8), unknown → mean(0.2, 0.8) = 0.5, tied with the positive
    // order: 2 (0.8), unknown (0.5), 0 (0.5), 1 (0.2) → the positive is at rank 3
    const test: RankingTest = {
      kind: 'ranking',
      users: Int32Array.of(0),
      relevant: [Int32Array.of(0)],
      candidates: [Int32Array.of(0, 1, 2, -1)],
    };
    const scores = [0.5, 0.2, 0.8, 9];
    const { model } = fakeModel(1, 4, (_u, i) => scores[i]!);
    const split = splitOf([[0, 3]], 1, 4, test);
    const k2 = await evaluate(model, split, { k: 2 });
    expect(k2['hr@2']).toBe(0);
    const k3 = await evaluate(model, split, { k: 3 });
    expect(k3['hr@3']).toBe(1);
    // 1/log2(3 + 1) = 0.5
    expect(k3['ndcg@3']).toBeCloseTo(0.5, 12);
    expect(k3['mrr@3']).toBeCloseTo(1 / 3, 12);
    // items 2 and 0 are the known items among the top 3 of a 4-item catalogue
    expect(k3.coverage).toBeCloseTo(0.5, 12);
  });

  it('averages over users and gives the same result for any batch size', async () => {
    // 5 users; user u's positive is item u, candidates u and (u+1..u+3) mod 8; score favours low item ids
    const users = Int32Array.of(0, 1, 2, 3, 4);
    const test: RankingTest = {
      kind: 'ranking',
      users,
      relevant: [...users].map((u) => Int32Array.of(u)),
      candidates: [...users].map((u) => Int32Array.of(u, (u + 1) % 8, (u + 2) % 8, (u + 3) % 8)),
    };
    const { model } = fakeModel(5, 8, (_u, i) => -i);
    const split = splitOf([[0, 7]], 5, 8, test);
    const a = await evaluate(model, split, { k: 1, batchSize: 2 });
    const b = await evaluate(model, split, { k: 1, batchSize: 256 });
    expect(a).toEqual(b);
    // users 0–4 rank their positive first (lowest id in their list): hr@1 = 1
    expect(a['hr@1']).toBe(1);
  });
});

describe('evaluate on a pair test', () => {
  it('computes whole-set AUC on raw scores and F1 after a sigmoid for logits', async () => {
    // logits: (0,0) 2, (0,1) -1, (1,0) 0.5, (1,1) 3; labels 1, 0, 0, 1
    const logits = [
      [2, -1],
      [0.5, 3],
    ];
    const { model } = fakeModel(2, 2, (u, i) => logits[u]![i]!);
    const test: PairTest = { kind: 'pairs', user: Int32Array.of(0, 0, 1, 1), item: Int32Array.of(0, 1, 0, 1), label: Uint8Array.of(1, 0, 0, 1) };
    const m = await evaluate(model, splitOf([], 2, 2, test));
    expect(Object.keys(m).sort()).toEqual(['auc', 'f1', 'logloss']);
    // positives {2, 3} beat negatives {-1, 0.5} in all 4 pairs
    expect(m.auc).toBe(1);
    // sigmoid: 0.88, 0.27, 0.62, 0.95 → predicted positive 0.88, 0.62, 0.95: TP 2, FP 1, FN 0 → 4/5
    expect(m.f1).toBeCloseTo(0.8, 12);
  });

  it('uses probabilities as they are', async () => {
    const probs = [
      [0.9, 0.4],
      [0.6, 0.3],
    ];
    const { model } = fakeModel(2, 2, (u, i) => probs[u]![i]!);
    const test: PairTest = { kind: 'pairs', user: Int32Array.of(0, 0, 1, 1), item: Int32Array.of(0, 1, 0, 1), label: Uint8Array.of(1, 0, 0, 1) };
    const m = await evaluate(model, splitOf([], 2, 2, test));
    // positives {0.9, 0.3} vs negatives {0.4, 0.6}: 0.9 wins both, 0.3 loses both → 2/4
    expect(m.auc).toBeCloseTo(0.5, 12);
    // predicted positive 0.9, 0.6: TP 1, FP 1, FN 1 → 2/4
    expect(m.f1).toBeCloseTo(0.5, 12);
  });
});
