import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRecommender } from '@tastemaker/core';
import { describe, expect, it } from 'vitest';
import { BUNDLE_FILES, writeBundle } from '../../export/bundle-writer.js';
import { writeTwoStageBundle } from '../../export/write-model-bundle.js';
import type { KnowledgeGraph } from '../../data/dataset.js';
import { Rng } from '../../engine/rng.js';
import { rankerParity } from '../../export/ranker-parity.js';
import { exportRankerGraph } from '../../export/ranker-graph.js';
import { auc } from '../../eval/metrics.js';
import { buildAdjacency } from '../../kg/adjacency.js';
import { trainSetFromRows } from '../test-fixtures.js';
import { getModel, type TrainedModel, type TrainSet } from '../index.js';
import { KgSongModel, kgCandidates, kgSongParams, topItems } from './index.js';
import {
  MlpWorkspace,
  gcnBackward,
  gcnForward,
  gruBackward,
  gruRun,
  initKgSongWeights,
  parameterPairs,
  zeroGradients,
  type KgSongWeights,
} from './network.js';

/** Items 0…n−1 in `clusters` groups; entity n + c is group c's "artist", linked to its items. */
function clusteredKg(nItems: number, clusters: number): KnowledgeGraph {
  const heads = Int32Array.from({ length: nItems }, (_, i) => i);
  const tails = Int32Array.from({ length: nItems }, (_, i) => nItems + (i % clusters));
  return { heads, relations: new Int32Array(nItems), tails, entityCount: nItems + clusters, relationCount: 1, itemEntity: Int32Array.from({ length: nItems }, (_, i) => i) };
}

function withKg(train: TrainSet, kg: KnowledgeGraph): TrainSet {
  return { ...train, dataset: { ...train.dataset, kg } };
}

function smallWeights(hops: number, mlp: number[], seed: number, gcnLinearOutput = false, residual = false): KgSongWeights {
  const rng = new Rng(seed);
  const kg = clusteredKg(8, 3);
  // a few extra item–item edges so the mean has several terms and the 2-hop path exists
  const adj = buildAdjacency({ ...kg, heads: Int32Array.from([...kg.heads, 0, 2]), tails: Int32Array.from([...kg.tails, 5, 9]), relations: new Int32Array(10) });
  const w = initKgSongWeights({ nItems: 8, dim: 4, hops, mlp, graph: adj, itemEntity: kg.itemEntity, gcnLinearOutput, residual }, rng);
  for (const l of w.gcn) for (let k = 0; k < l.bias.length; k++) l.bias[k] = 0.2 + 0.1 * rng.normal();
  for (const l of w.mlp) for (let k = 0; k < l.bias.length; k++) l.bias[k] = 0.1 * rng.normal();
  return w;
}

const TASKS = [
  { history: [1, 2, 3], items: [4, 0], labels: [1, 0] },
  { history: [], items: [5], labels: [1] },
  { history: [7, 6, 7, 0], items: [2, 3, 1], labels: [0, 1, 1] },
];

/** Σ binary cross-entropy over TASKS, and optionally its gradient, through the trainer's own steps. */
function lossAndGradient(w: KgSongWeights, withGradient: boolean) {
  const g = zeroGradients(w);
  const cache = gcnForward(w);
  const dItems = new Float32Array(cache.items.length);
  const mlp = new MlpWorkspace(w);
  let total = 0;
  for (const t of TASKS) {
    const tr = gruRun(w, cache.items, t.history);
    const dState = new Float64Array(w.dim);
    t.items.forEach((i, k) => {
      const y = t.labels[k]!;
      const x = mlp.forward(tr.h, cache.items, i * w.dim);
      total += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
      if (withGradient) mlp.backward(1 / (1 + Math.exp(-x)) - y, g, dState, dItems, i * w.dim);
    });
    if (withGradient) gruBackward(w, tr, t.history, dState, g, dItems);
  }
  if (withGradient) gcnBackward(w, cache, dItems, g);
  return { total, g };
}

describe('kg-song network', () => {
  it.each([
    [0, [5], false, false],
    [1, [5], false, false],
    [2, [6, 3], false, false],
    [2, [4], true, false],
    [1, [5], false, true],
  ])('backward matches finite differences (hops %i, mlp %j, linear GCN output %s, residual %s)', (hops, mlp, linear, residual = false) => {
    const w = smallWeights(hops, mlp, 3 + hops, linear, residual);
    const { g } = lossAndGradient(w, true);
    const pairs = parameterPairs(w, g);
    const rng = new Rng(9);
    let checked = 0;
    for (const [values, grad] of pairs) {
      for (let probe = 0; probe < 4; probe++) {
        const k = rng.int(values.length);
        const keep = values[k]!;
        // small enough that a probe rarely straddles a ReLU kink, large enough for float32 activations
        const eps = 1e-3;
        values[k] = keep + eps;
        const up = lossAndGradient(w, false).total;
        values[k] = keep - eps;
        const down = lossAndGradient(w, false).total;
        values[k] = keep;
        const numeric = (up - down) / (2 * eps);
        expect(Math.abs(numeric - grad[k]!)).toBeLessThanOrEqual(2e-4 + 1e-2 * Math.abs(numeric));
        checked++;
      }
    }
    expect(checked).toBe(pairs.length * 4);
  });
});

describe('kg-song candidates', () => {
  // items 0–5; artists A = entity 6 (items 0, 1, 2), B = entity 7 (items 3, 4); tag T = entity 8 links A and B; item 5 isolated
  const kg: KnowledgeGraph = {
    heads: Int32Array.from([0, 1, 2, 3, 4, 6]),
    relations: Int32Array.from([0, 0, 0, 0, 0, 1]),
    tails: Int32Array.from([6, 6, 6, 7, 7, 8]),
    entityCount: 9,
    relationCount: 2,
    itemEntity: Int32Array.from([0, 1, 2, 3, 4, 5]),
  };
  const adj = buildAdjacency({ ...kg, heads: Int32Array.from([...kg.heads, 7]), tails: Int32Array.from([...kg.tails, 8]), relations: Int32Array.from([...kg.relations, 1]) });

  it('widens the seeds hop by hop, in order, up to the cardinality', () => {
    expect([...kgCandidates(adj, kg.itemEntity, [1], { hops: 0, cardinality: 10 })]).toEqual([1]);
    // item → artist → other items of the artist
    expect([...kgCandidates(adj, kg.itemEntity, [1], { hops: 2, cardinality: 10 })]).toEqual([1, 0, 2]);
    // … → tag → other artist → its items
    expect([...kgCandidates(adj, kg.itemEntity, [1], { hops: 4, cardinality: 10 })]).toEqual([1, 0, 2, 3, 4]);
    expect([...kgCandidates(adj, kg.itemEntity, [1], { hops: 4, cardinality: 2 })]).toEqual([1, 0]);
    expect([...kgCandidates(adj, kg.itemEntity, [5, 3], { hops: 2, cardinality: 10 })]).toEqual([5, 3, 4]);
  });

  it('never returns excluded items but still walks through them', () => {
    expect([...kgCandidates(adj, kg.itemEntity, [1], { hops: 4, cardinality: 10, exclude: [1, 3] })]).toEqual([0, 2, 4]);
  });

  it('rejects a bad cardinality or seed with a clear error', () => {
    expect(() => kgCandidates(adj, kg.itemEntity, [1], { hops: 1, cardinality: 0 })).toThrow(/cardinality .* integer ≥ 1/);
    expect(() => kgCandidates(adj, kg.itemEntity, [6], { hops: 1, cardinality: 3 })).toThrow(/seed item 6 outside \[0, 6\)/);
  });

  it('topItems picks the best scores, skipping excluded ones', () => {
    expect([...topItems([0.1, 0.9, 0.5, 0.9], 3, [3])]).toEqual([1, 2, 0]);
  });
});

describe('kg-song options', () => {
  it('validates options with the valid range in the error', () => {
    expect(kgSongParams({ seed: 1, extra: { hops: '0', mlp: '16,8', candidates: 50 } })).toMatchObject({ hops: 0, mlp: [16, 8], candidates: 50 });
    expect(kgSongParams({ seed: 1, extra: { knowledge: 'none' } }).hops).toBe(0);
    expect(() => kgSongParams({ seed: 1, extra: { knowledge: 'none', hops: 2 } })).toThrow(/knowledge=none means hops=0/);
    expect(() => kgSongParams({ seed: 1, extra: { hops: 7 } })).toThrow(/Invalid hops for kg-song: 7\. It must be an integer in \[0, 4\]/);
    expect(() => kgSongParams({ seed: 1, extra: { historyLength: 0 } })).toThrow(/historyLength/);
    expect(() => kgSongParams({ seed: 1, extra: { candidates: 1.5 } })).toThrow(/candidates/);
    expect(() => kgSongParams({ seed: 1, extra: { mlp: '32,x' } })).toThrow(/comma-separated positive integer widths/);
    expect(() => kgSongParams({ seed: 1, extra: { negatives: 'some' } })).toThrow(/Valid values: "sampled", "given"/);
  });
});

describe('kg-song model', () => {
  // 40 users, 30 items in 5 artist clusters of 6; each user likes one cluster and trains on 3 of
  // its first 4 items. The last 2 items of every cluster are cold (nobody trained on them): only
  // the KG says which artist they share, so only the GCN can rank them.
  const nItems = 30;
  const clusters = 5;
  const rng = new Rng(4);
  const trainRows: number[][] = [];
  for (let u = 0; u < 40; u++) {
    const c = u % clusters;
    trainRows.push(rng.shuffle([0, 1, 2, 3].map((k) => c + k * clusters)).slice(0, 3));
  }
  const cold = (i: number): boolean => Math.floor(i / clusters) >= 4;
  const train = withKg(trainSetFromRows(trainRows, nItems), clusteredKg(nItems, clusters));
  // residual off: a cold item's own (untrained) entity row would add noise to what the KG gives it
  const fit = async (hops: number) =>
    (await getModel('kg-song').fit(train, {
      seed: 1,
      epochs: 25,
      dim: 8,
      learningRate: 0.01,
      batchSize: 8,
      extra: { hops, residual: false, historyLength: 5, candidates: 8, validation: 0 },
    })) as KgSongModel;
  async function coldAuc(m: KgSongModel): Promise<number> {
    const users = Int32Array.from({ length: 40 }, (_, u) => u);
    const scores = await m.scoreBatch(users, Array.from(users, () => new Int32Array(0)));
    const s: number[] = [];
    const y: number[] = [];
    for (let u = 0; u < 40; u++) {
      for (let i = 0; i < nItems; i++) {
        if (!cold(i)) continue;
        s.push(scores[u * nItems + i]!);
        y.push(i % clusters === u % clusters ? 1 : 0);
      }
    }
    return auc(Float64Array.from(s), Uint8Array.from(y));
  }
  let model: KgSongModel;

  it('ranks cold items through the shared artist with the KG, and cannot without it', async () => {
    model = await fit(1);
    expect(await coldAuc(model)).toBeGreaterThan(0.85);
    expect(await coldAuc(await fit(0))).toBeLessThan(0.7);
  });

  it('recommends from the seed model’s KG neighbourhood, never the history', async () => {
    // the seed's NCF stage: GMF proposes, the KG widens, kg-song ranks
    const seedModel: TrainedModel = await getModel('gmf').fit(train, { seed: 1, epochs: 2, dim: 4 });
    const user = 2;
    const { items, scores } = await model.recommend(seedModel, user, 4);
    expect(items.length).toBe(4);
    const history = new Set(trainRows[user]);
    const seeds = topItems((await seedModel.scoreBatch(Int32Array.of(user), [new Int32Array(0)])), model.params.seedItems, trainRows[user]);
    const allowed = new Set(kgCandidates(buildAdjacency(clusteredKg(nItems, clusters)), Int32Array.from({ length: nItems }, (_, i) => i), seeds, { hops: 2, cardinality: 8, exclude: trainRows[user] }));
    for (const i of items) {
      expect(history.has(i)).toBe(false);
      expect(allowed.has(i)).toBe(true);
    }
    expect([...scores]).toEqual([...scores].sort((a, b) => b - a));
  });

  it('exports a ranker with a history input that matches the trainer in onnxruntime (≤ 1e-4)', async () => {
    const spec = model.exportSpec();
    expect(spec.historyLength).toBe(5);
    const graph = exportRankerGraph(spec);
    expect(graph.signature.inputs.map((i) => [i.name, i.shape])).toEqual([
      ['user_index', ['batch']],
      ['item_index', ['batch']],
      ['history', ['batch', 5]],
    ]);
    const parity = await rankerParity(spec);
    for (const r of Object.values(parity.runtimes)) expect(r.maxError).toBeLessThanOrEqual(1e-4);
    // the reference is the model's own scoring: a known user's training history gives its scoreBatch row
    const hist = model.historyOf(3);
    const direct = await model.scoreBatch(Int32Array.of(3), [new Int32Array(0)]);
    const viaSpec = spec.scorePairs(Int32Array.of(3, 3), Int32Array.of(0, 17), [hist, hist]);
    expect(viaSpec[0]).toBeCloseTo(direct[0]!, 5);
    expect(viaSpec[1]).toBeCloseTo(direct[17]!, 5);
  });

  it('a two-stage bundle stores each history in time order, the order the GRU trained on', async () => {
    // user 0 rated items 9, 0, 4 at times 1, 3, 2: item order 0, 4, 9, time order 9, 4, 0;
    // user 1 rated 2 then 1: item order 1, 2, time order 2, 1
    const rows: [number, number, number][] = [
      [0, 9, 1],
      [0, 0, 3],
      [0, 4, 2],
      [1, 2, 10],
      [1, 1, 20],
    ];
    const timed: TrainSet = {
      ...train,
      dataset: {
        ...train.dataset,
        interactions: {
          user: Int32Array.from(rows, (r) => r[0]),
          item: Int32Array.from(rows, (r) => r[1]),
          value: new Float32Array(rows.length).fill(1),
          timestamp: Float64Array.from(rows, (r) => r[2]),
        },
      },
    };
    const popularity = await getModel('popularity').fit(timed, { seed: 1 });
    const dir = await mkdtemp(join(tmpdir(), 'tastemaker-kg-song-order-'));
    try {
      await writeTwoStageBundle(dir, { retrieval: popularity, ranker: model, candidates: 10 }, { ...timed, csr: trainSetFromRows([[0, 4, 9], [1, 2], ...Array.from({ length: 38 }, () => [])], nItems).csr }, { kg: false });
      const indptr = new Uint32Array((await readFile(join(dir, BUNDLE_FILES.historyIndptr))).buffer.slice(0));
      const indices = new Uint32Array((await readFile(join(dir, BUNDLE_FILES.historyIndices))).buffer.slice(0));
      expect([...indices.subarray(indptr[0], indptr[1])]).toEqual([9, 4, 0]);
      expect([...indices.subarray(indptr[1], indptr[2])]).toEqual([2, 1]);
    } finally {
      popularity.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serves as the ranker of a bundle: core feeds the user history and gets the trainer scores', async () => {
    const spec = model.exportSpec();
    const dir = await mkdtemp(join(tmpdir(), 'tastemaker-kg-song-'));
    try {
      await writeBundle(dir, {
        modelId: 'popularity',
        spec: { kind: 'popularity', scores: Float32Array.from({ length: nItems }, (_, i) => i) },
        dataset: train.dataset,
        trainCsr: train.csr,
        trainerVersion: 'test',
        ranker: { modelId: 'kg-song', spec, candidates: 10 },
      });
      const rec = await createRecommender({ bundle: dir, device: 'cpu' });
      try {
        const user = 7;
        const res = await rec.recommend({ userId: `u${user}`, k: 4 });
        expect(res.items).toHaveLength(4);
        const items = Int32Array.from(res.items, (it) => Number(it.itemId.slice(1)));
        const hist = model.historyOf(user);
        const want = spec.scorePairs(Int32Array.from(items, () => user), items, Array.from(items, () => hist));
        res.items.forEach((it, k) => expect(Math.abs(it.score - want[k]!)).toBeLessThanOrEqual(1e-4));
        // … and the history matters: without it the scores would differ
        const blind = spec.scorePairs(Int32Array.from(items, () => user), items, Array.from(items, () => new Int32Array(0)));
        expect(Math.max(...Array.from(blind, (b, k) => Math.abs(b - want[k]!)))).toBeGreaterThan(1e-2);
        // an unknown user brings a history: the same state as a known user with that history
        const asNew = await rec.recommend({ userId: 'nobody', history: Array.from(hist, (i) => `i${i}`), k: 4 });
        expect(asNew.items.map((it) => it.itemId)).toEqual(res.items.map((it) => it.itemId));
      } finally {
        await rec.dispose();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
