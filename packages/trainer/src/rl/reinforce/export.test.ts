import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRecommender } from '@tastemaker/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportGraphs } from '../../export/graphs.js';
import { writeModelBundle } from '../../export/write-model-bundle.js';
import { drrUsersSplit } from '../../eval/drr-users.js';
import { ORT_RUNTIMES, int64Feed, leftPaddedFeed, runModel } from '../../onnx/ort-runners.js';
import { syntheticDataset } from '../../synthetic/index.js';
import { reinforceModel, type ReinforceModel } from './index.js';

const small = { stateSize: 4, hidden: 16, embeddingDim: 6, embeddingEpochs: 15, maxEpisodeSteps: 8, batchSize: 32, epochs: 3, curveUsers: 0 };

/** Scores [users, nItems] of user vectors [users, d] against item rows [nItems, d]. */
function dotAll(vectors: Float32Array, items: Float32Array, d: number): Float32Array {
  const nUsers = vectors.length / d;
  const nItems = items.length / d;
  const out = new Float32Array(nUsers * nItems);
  for (let u = 0; u < nUsers; u++) {
    for (let i = 0; i < nItems; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += vectors[u * d + j]! * items[i * d + j]!;
      out[u * nItems + i] = s;
    }
  }
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('REINFORCE export: the policy = onnxruntime = core', () => {
  const split = drrUsersSplit(syntheticDataset({ seed: 3, users: 120, items: 60, perUser: 30 }), { stateSize: 4 });
  let model: ReinforceModel;
  let dir = '';

  beforeAll(async () => {
    model = (await reinforceModel.fit(split.train, { seed: 5, extra: small })) as ReinforceModel;
    dir = await mkdtemp(path.join(os.tmpdir(), 'reinforce-export-'));
  });
  afterAll(async () => {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it("the user graph's φ(s), scored against V, gives π's logits within 1e-4 in both runtimes", async () => {
    const { history } = model.servingHistory();
    const liked = (u: number) => history.indices.subarray(history.indptr[u]!, history.indptr[u + 1]!);
    // known users with their liked items (what the bundle's history holds, some longer than the
    // state), an unknown user with a short history, one with an item outside the catalogue
    // (padding), and one with none
    const users = Int32Array.of(0, 7, 31, -1, -1, -1);
    const graphHistories = [liked(0), liked(7), liked(31), Int32Array.of(3, 5, 7), Int32Array.of(11, 999), new Int32Array(0)];
    const trainerHistories = [new Int32Array(0), new Int32Array(0), new Int32Array(0), Int32Array.of(3, 5, 7), Int32Array.of(11), new Int32Array(0)];
    expect(graphHistories.slice(0, 3).some((h) => h.length > small.stateSize)).toBe(true);
    const logits = await model.scoreBatch(users, trainerHistories);
    const spec = model.exportSpec();
    if (spec.kind !== 'user-graph') throw new Error(`expected a user graph, got ${spec.kind}`);
    expect(maxDiff(dotAll(spec.reference(users, graphHistories), spec.itemVectors!, spec.dim!), logits)).toBeLessThan(1e-4);
    const [graph] = exportGraphs(spec);
    expect(graph?.name).toBe('user_tower');
    const feeds = { user_index: int64Feed(Array.from(users, (u) => (u < 0 ? model.nUsers : u))), history: leftPaddedFeed(graphHistories, model.nItems) };
    for (const runtime of ORT_RUNTIMES) {
      const out = await runModel(runtime, graph!.bytes, feeds, ['user_embedding']);
      expect(maxDiff(dotAll(out.user_embedding!.data as Float32Array, spec.itemVectors!, spec.dim!), logits)).toBeLessThan(1e-4);
    }
  });

  it('writes a bundle that core serves with scores equal to the policy logits', async () => {
    const out = path.join(dir, 'reinforce');
    const written = await writeModelBundle(out, model, split.train);
    expect(written.manifest.model).toMatchObject({ kind: 'reinforce', scoring: 'embedding', maxHistory: small.stateSize });
    const rec = await createRecommender({ bundle: out, device: 'cpu', index: 'exact' });
    try {
      const userId = split.train.dataset.users.ids[7]!;
      const logits = await model.scoreBatch(Int32Array.of(7), [new Int32Array(0)]);
      const res = await rec.recommend({ userId, k: 5 });
      expect(res.items).toHaveLength(5);
      for (const item of res.items) expect(Math.abs(item.score - logits[split.train.dataset.items.get(item.itemId)!]!)).toBeLessThan(1e-4);
      // best first, and nothing the user already liked
      const { history } = model.servingHistory();
      const likedIds = new Set(Array.from(history.indices.subarray(history.indptr[7]!, history.indptr[8]!), (i) => split.train.dataset.items.ids[i]));
      for (const item of res.items) expect(likedIds.has(item.itemId)).toBe(false);
      expect(res.items.map((i) => i.score)).toEqual([...res.items.map((i) => i.score)].sort((a, b) => b - a));
    } finally {
      await rec.dispose();
    }
  });
});
