import { describe, expect, it } from 'vitest';
import { memorySource } from '../bundle/source.js';
import { BundleError } from '../errors/index.js';
import { createNodeBackend } from '../inference/node-backend.js';
import type { GraphSession, InferenceBackend } from '../inference/types.js';
import { createWebBackend } from '../inference/web-backend.js';
import { ExactIndex } from '../retrieval/exact-index.js';
import { expectedUserVector, sealBundle } from '../testing/bundle-fixture.js';
import { type TwoStageBundle, twoStageBundle } from '../testing/ranker-fixture.js';
import { userTowerOnnx } from '../testing/tiny-onnx.js';
import { createRecommenderFromSource } from './recommender.js';

const dim = 8;
const backend = createNodeBackend({ device: 'cpu' });

/** Retrieval's top `candidates` (exact dot products), re-ordered by the fixture ranker, first k. */
function twoStageTruth(b: TwoStageBundle, userRow: number | undefined, history: number[], k: number, candidates: number) {
  const u = expectedUserVector(b, dim, userRow, history);
  const retrieved = new ExactIndex(b.itemVectors, dim).search(u, Math.max(k, candidates), new Set(history));
  const bias = b.rankerUserBias[userRow ?? b.rankerUserBias.length - 1] as number;
  return retrieved
    .map((h) => ({ itemId: `item-${h.row}`, score: bias + (b.rankerItemScores[h.row] as number) }))
    .sort((x, y) => y.score - x.score)
    .slice(0, k);
}

function expectSame(got: { itemId: string; score: number }[], want: { itemId: string; score: number }[]) {
  expect(got.map((i) => i.itemId)).toEqual(want.map((i) => i.itemId));
  got.forEach((item, i) => expect(item.score).toBeCloseTo(want[i]?.score as number, 5));
}

/** Counts ranker runs, to show a request group costs one. */
function countingBackend(inner: InferenceBackend): { backend: InferenceBackend; rankerRuns: () => number } {
  let runs = 0;
  return {
    rankerRuns: () => runs,
    backend: {
      name: inner.name,
      device: inner.device,
      async createSession(bytes, graphName): Promise<GraphSession> {
        const s = await inner.createSession(bytes, graphName);
        if (graphName !== 'ranker') return s;
        return Object.assign(Object.create(Object.getPrototypeOf(s) as object) as GraphSession, s, {
          run: (feeds: Parameters<GraphSession['run']>[0]) => {
            runs++;
            return s.run(feeds);
          },
          dispose: () => s.dispose(),
        });
      },
    },
  };
}

describe('two-stage serving: retrieval → ranker → top k', () => {
  it('re-ranks the retrieved candidates with the ranker for known and unknown users', async () => {
    const b = await twoStageBundle({ candidates: 15 });
    const rec = await createRecommenderFromSource({ source: memorySource(b.files), backend });
    const seen = b.histories[2] as number[];
    expectSame((await rec.recommend({ userId: 'user-2', k: 5 })).items, twoStageTruth(b, 2, seen, 5, 15));
    expectSame((await rec.recommend({ history: ['item-3', 'item-4'], k: 4 })).items, twoStageTruth(b, undefined, [3, 4], 4, 15));
    expect(rec.info().ranker).toEqual({ kind: 'tiny-ranker', candidates: 15, provider: 'cpu' });
    await rec.dispose();
  });

  it('fetches at least k candidates when k exceeds the declared candidates', async () => {
    const b = await twoStageBundle({ candidates: 3 });
    const rec = await createRecommenderFromSource({ source: memorySource(b.files), backend });
    const seen = b.histories[0] as number[];
    const res = await rec.recommend({ userId: 'user-0', k: 8 });
    expect(res.items).toHaveLength(8);
    expectSame(res.items, twoStageTruth(b, 0, seen, 8, 3));
    await rec.dispose();
  });

  it('scores a whole request group in one ranker run', async () => {
    const b = await twoStageBundle({ candidates: 10 });
    const counting = countingBackend(backend);
    const rec = await createRecommenderFromSource({ source: memorySource(b.files), backend: counting.backend });
    const requests = [0, 1, 2, 3].map((u) => ({ userId: `user-${u}`, k: 3 }));
    const batch = await rec.recommendBatch(requests);
    expect(counting.rankerRuns()).toBe(1);
    for (const [u, res] of batch.entries()) expectSame(res.items, twoStageTruth(b, u, b.histories[u] as number[], 3, 10));
    await rec.dispose();
  });

  it('works behind a scores retrieval graph and on onnxruntime-web', async () => {
    const b = await twoStageBundle({ scoring: 'scores', candidates: 12 });
    const rec = await createRecommenderFromSource({ source: memorySource(b.files), backend: createWebBackend() });
    const seen = b.histories[4] as number[];
    expectSame((await rec.recommend({ userId: 'user-4', k: 6 })).items, twoStageTruth(b, 4, seen, 6, 12));
    await rec.dispose();
  });

  it('refuses a ranker file the runtime cannot load, naming it', async () => {
    const b = await twoStageBundle();
    const files = await sealBundle({ ...b.files, 'ranker.onnx': new TextEncoder().encode('not an onnx model') }, b.manifest);
    const error = await createRecommenderFromSource({ source: memorySource(files), backend }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).code).toBe('BUNDLE_INVALID');
    expect((error as BundleError).message).toMatch(/^ranker\.onnx: onnxruntime-node could not load the ranker graph/);
  });

  it('refuses a ranker graph whose real signature differs from the manifest, naming it', async () => {
    const b = await twoStageBundle();
    const tower = userTowerOnnx({ users: 6, items: 40, dim, userVectors: b.userVectors, itemVectors: b.itemVectors });
    const files = await sealBundle({ ...b.files, 'ranker.onnx': tower }, b.manifest);
    const error = await createRecommenderFromSource({ source: memorySource(files), backend }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).code).toBe('BUNDLE_SIGNATURE_MISMATCH');
    expect((error as BundleError).message).toMatch(/^ranker\.onnx: graph signature does not match manifest\.json/);
  });
});
