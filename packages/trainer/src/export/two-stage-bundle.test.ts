import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRecommender } from '@tastemaker/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainSetFromRows } from '../models/test-fixtures.js';
import type { GraphBuilder, Value } from '../onnx/builder.js';
import { writeBundle } from './bundle-writer.js';
import type { PopularityExport, RankerExport } from './types.js';

const N_USERS = 4;
const N_ITEMS = 12;

/** score(u, i) = userBias[u] + itemScore[i]; the last user row serves unknown users. */
function biasRanker(): RankerExport & { itemScore: Float32Array; userBias: Float32Array } {
  const itemScore = Float32Array.from({ length: N_ITEMS }, (_, i) => ((i * 7) % N_ITEMS) / N_ITEMS);
  const userBias = Float32Array.from({ length: N_USERS + 1 }, (_, u) => u * 10);
  return {
    kind: 'ranker',
    nUsers: N_USERS,
    nItems: N_ITEMS,
    itemScore,
    userBias,
    buildGraph(g: GraphBuilder, user: Value, item: Value): Value {
      const w = g.op('Gather', [g.initializer('user_bias', userBias, [N_USERS + 1]), user], { axis: 0 });
      return g.op('Add', [w, g.op('Gather', [g.initializer('item_score', itemScore, [N_ITEMS]), item], { axis: 0 })]);
    },
    scorePairs: (users, items) => Float32Array.from(users, (u, b) => (userBias[u] ?? 0) + (itemScore[items[b] ?? 0] ?? 0)),
  };
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tastemaker-two-stage-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('two-stage bundles', () => {
  const train = trainSetFromRows([[0, 1], [2], [], [5, 6, 7]], N_ITEMS);
  // Popularity retrieval: item i scores i, so the top candidates are the highest rows.
  const retrieval: PopularityExport = { kind: 'popularity', scores: Float32Array.from({ length: N_ITEMS }, (_, i) => i) };

  it('records the ranker section and graph, and core serves retrieval → ranker', async () => {
    const ranker = biasRanker();
    const dir = join(root, 'pop-ranker');
    const { manifest } = await writeBundle(dir, {
      modelId: 'popularity',
      spec: retrieval,
      dataset: train.dataset,
      trainCsr: train.csr,
      trainerVersion: 'test',
      ranker: { modelId: 'bias-ranker', spec: ranker, candidates: 5, metrics: { 'hr@10': 0.5 }, backend: 'wasm' },
    });
    expect(manifest.ranker).toEqual({ kind: 'bias-ranker', graph: 'ranker', candidates: 5, params: { exportKind: 'ranker' }, metrics: { 'hr@10': 0.5 }, backend: 'wasm' });
    expect(Object.keys(manifest.graphs).sort()).toEqual(['ranker', 'scorer']);
    expect(manifest.files['ranker.onnx']).toBeDefined();

    const rec = await createRecommender({ bundle: dir, device: 'cpu' });
    try {
      // Retrieval's top 5 for user 0 (who saw 0 and 1) are items 11..7; the ranker orders them by itemScore.
      const res = await rec.recommend({ userId: 'u0', k: 3 });
      const expected = [11, 10, 9, 8, 7]
        .map((i) => ({ itemId: `i${i}`, score: (ranker.userBias[0] ?? 0) + (ranker.itemScore[i] ?? 0) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, 3);
      expect(res.items.map((i) => i.itemId)).toEqual(expected.map((e) => e.itemId));
      res.items.forEach((item, k) => expect(item.score).toBeCloseTo(expected[k]?.score ?? Number.NaN, 5));
    } finally {
      await rec.dispose();
    }
  });

  it('refuses a ranker that does not fit the data set or a bad candidate count', async () => {
    const base = { modelId: 'popularity', spec: retrieval, dataset: train.dataset, trainCsr: train.csr, trainerVersion: 'test' };
    await expect(writeBundle(join(root, 'bad-1'), { ...base, ranker: { modelId: 'r', spec: { ...biasRanker(), nItems: 3 }, candidates: 5 } })).rejects.toThrow(
      /scores 3 items but dataset test has 12/,
    );
    await expect(writeBundle(join(root, 'bad-2'), { ...base, ranker: { modelId: 'r', spec: biasRanker(), candidates: 0 } })).rejects.toThrow(
      /ranker candidates must be a positive integer/,
    );
  });
});
