import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDrrPolicy, createRecommender, directorySource, loadBundle } from '@tastemaker/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportGraphs } from '../../export/graphs.js';
import { writeModelBundle } from '../../export/write-model-bundle.js';
import { drrUsersSplit } from '../../eval/drr-users.js';
import { ORT_RUNTIMES, int64Feed, leftPaddedFeed, runModel } from '../../onnx/ort-runners.js';
import { syntheticDataset } from '../../synthetic/index.js';
import { drrModels, DrrModel, referenceActions, STATE_MODULES } from './index.js';

const small = { stateSize: 4, embeddingDim: 8, embeddingEpochs: 10, envs: 8, steps: 60, batchSize: 16, actorHidden: 16, criticHidden: 16, listSize: 3, actorDelay: 10, actorLr: 3e-3 };

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

describe('DRR export: trainer (tfjs) = onnxruntime = core', () => {
  const split = drrUsersSplit(syntheticDataset({ seed: 3, users: 120, items: 60, perUser: 30 }), { stateSize: 4 });
  const models = new Map<string, DrrModel>();
  let dir = '';

  beforeAll(async () => {
    for (const kind of STATE_MODULES) models.set(kind, (await drrModels[kind].fit(split.train, { seed: 5, extra: small })) as DrrModel);
    dir = await mkdtemp(path.join(os.tmpdir(), 'drr-export-'));
  });
  afterAll(async () => {
    for (const m of models.values()) m.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(STATE_MODULES)('%s: the actor graph reproduces the trained actor within 1e-4 in both runtimes', async (kind) => {
    const model = models.get(kind)!;
    const csr = model.positivesCsr();
    const positives = (u: number) => csr.indices.subarray(csr.indptr[u]!, csr.indptr[u + 1]!);
    // known users with their positives (what the bundle's history holds), an unknown user with a
    // short history, and one with a single item
    const users = Int32Array.of(0, 7, 31, -1, -1);
    const trainerHistories = [new Int32Array(0), new Int32Array(0), new Int32Array(0), Int32Array.of(3, 5, 7), Int32Array.of(11)];
    const graphHistories = [positives(0), positives(7), positives(31), Int32Array.of(3, 5, 7), Int32Array.of(11)];
    const trained = await model.embedUsers(users, trainerHistories);
    const core = referenceActions(model.drrWeights(), model.embeddings.items, model.nItems, users, graphHistories);
    expect(maxDiff(trained, core)).toBeLessThan(1e-4);
    const [graph] = exportGraphs(model.exportSpec());
    expect(graph?.name).toBe('user_tower');
    const feeds = { user_index: int64Feed(Array.from(users, (u) => (u < 0 ? model.nUsers : u))), history: leftPaddedFeed(graphHistories, model.nItems) };
    for (const runtime of ORT_RUNTIMES) {
      const out = await runModel(runtime, graph!.bytes, feeds, ['user_embedding']);
      expect(maxDiff(out.user_embedding!.data, trained)).toBeLessThan(1e-4);
    }
  });

  it('writes a bundle with an rl section that core serves and its DRR policy acts on identically', async () => {
    const model = models.get('drr-ave')!;
    const out = path.join(dir, 'drr-ave');
    const written = await writeModelBundle(out, model, split.train);
    expect(written.manifest.rl).toMatchObject({ kind: 'drr-ave', graph: 'user_tower', weights: 'rl.weights', stateSize: 4 });
    expect(written.manifest.model.maxHistory).toBe(4);
    const bundle = await loadBundle(directorySource(out));
    const policy = createDrrPolicy(bundle, { epsilon: 0 });
    const rec = await createRecommender({ bundle: out, device: 'cpu', index: 'exact' });
    try {
      const userIds = [split.train.dataset.users.ids[0]!, split.train.dataset.users.ids[9]!];
      const trained = await model.embedUsers(Int32Array.of(0, 9), [new Int32Array(0), new Int32Array(0)]);
      userIds.forEach((userId, b) => {
        const a = policy.action(policy.stateFeatures({ userId, history: [] }));
        const d = model.embeddings.dim;
        expect(maxDiff(a, trained.subarray(b * d, (b + 1) * d))).toBeLessThan(1e-4);
      });
      // the recommender runs the graph through core's onnxruntime backend: its scores are action · item
      const scores = await model.scoreBatch(Int32Array.of(0), [new Int32Array(0)]);
      const res = await rec.recommend({ userId: userIds[0]!, k: 5 });
      for (const item of res.items) expect(Math.abs(item.score - scores[split.train.dataset.items.get(item.itemId)!]!)).toBeLessThan(1e-4);
    } finally {
      await rec.dispose();
    }
  });
});
