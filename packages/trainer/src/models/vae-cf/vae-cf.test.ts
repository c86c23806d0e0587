import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRecommender } from '@tastemaker/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { exportGraphs } from '../../export/graphs.js';
import type { UserGraphExport } from '../../export/types.js';
import { writeModelBundle } from '../../export/write-model-bundle.js';
import { ORT_RUNTIMES, int64Feed, padHistories, runModel } from '../../onnx/ort-runners.js';
import { trainSetFromRows } from '../test-fixtures.js';
import type { FitOptions, TrainedModel, TrainSet } from '../types.js';
import { distinctRows, holdOutUsers } from './holdout.js';
import { VAE_CF_DEFAULTS, referenceVaeScores, resolveVaeCfParams, vaeCfModel } from './index.js';

const N_ITEMS = 60;
const CLUSTERS = 3;
const CLUSTER_SIZE = N_ITEMS / CLUSTERS;

/** Users of cluster c (u mod 3) each hold 10 of that cluster's 20 items: tastes are the clusters. */
function clusteredRows(users: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: users }, (_, u) => {
    const c = u % CLUSTERS;
    const items = Array.from({ length: CLUSTER_SIZE }, (_, k) => c * CLUSTER_SIZE + k);
    return rng.shuffle(items).slice(0, 10);
  });
}

const SMALL: FitOptions = {
  seed: 7,
  epochs: 60,
  extra: { hidden: 32, latent: 8, batchSize: 30, annealEpochs: 10, patience: 60 },
};

let train: TrainSet;
let model: TrainedModel;

beforeAll(async () => {
  train = trainSetFromRows(clusteredRows(90, 1), N_ITEMS);
  model = await vaeCfModel.fit(train, SMALL);
});

afterAll(() => model.dispose());

function topUnseen(scores: Float32Array, seen: Set<number>, k: number): number[] {
  return Array.from(scores.keys())
    .filter((i) => !seen.has(i))
    .sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b)
    .slice(0, k);
}

describe('vae-cf', () => {
  it("recommends a new user's own cluster from their history alone", async () => {
    for (let c = 0; c < CLUSTERS; c++) {
      const history = [0, 3, 7, 11, 15].map((k) => c * CLUSTER_SIZE + k);
      const scores = await model.scoreBatch(Int32Array.of(-1), [Int32Array.from(history)]);
      const top = topUnseen(scores, new Set(history), 10);
      const inCluster = top.filter((i) => Math.floor(i / CLUSTER_SIZE) === c).length;
      expect(inCluster, `cluster ${c}: top-10 ${top.join(',')}`).toBeGreaterThanOrEqual(9);
    }
  });

  it('reports backend, epochs and the best validation epoch', () => {
    expect(model.info.backend).toMatch(/^(wasm|cpu|tensorflow|tensorflow-gpu)$/);
    const p = model.info.params as Record<string, number>;
    expect(model.info.epochs).toBe(p.epochsRun);
    expect(p.bestEpoch).toBeGreaterThanOrEqual(1);
    expect(p.bestEpoch).toBeLessThanOrEqual(p.epochsRun as number);
    expect(p.validationUserCount).toBe(Math.round(VAE_CF_DEFAULTS.validationUsers * 90));
  });

  it('comes back with the weights of its best validation epoch', async () => {
    // Patience 3 from a high learning rate stops past the best epoch, so restoring is observable.
    const options: FitOptions = { ...SMALL, learningRate: 0.01, extra: { ...SMALL.extra, patience: 3 } };
    const lines: string[] = [];
    const m = await vaeCfModel.fit(train, { ...options, log: (l) => lines.push(l) });
    try {
      const p = m.info.params as Record<string, number>;
      expect(p.bestEpoch).toBeLessThan(p.epochsRun as number);
      // The same seed draws the same validation users (fit's first fork of its Rng).
      const params = resolveVaeCfParams(options);
      const holdout = holdOutUsers(distinctRows(train.csr), params.validationUsers, params.validationFraction, new Rng(params.seed).fork());
      const scores = await m.scoreBatch(holdout.users, Array.from(holdout.users, (u) => holdout.train[u] as Int32Array));
      let sum = 0;
      holdout.users.forEach((u, b) => {
        const held = new Set(holdout.heldOut[b]);
        const top = topUnseen(scores.subarray(b * N_ITEMS, (b + 1) * N_ITEMS), new Set(holdout.train[u]), 10);
        let dcg = 0;
        top.forEach((i, r) => (dcg += held.has(i) ? 1 / Math.log2(r + 2) : 0));
        let ideal = 0;
        for (let r = 0; r < Math.min(10, held.size); r++) ideal += 1 / Math.log2(r + 2);
        sum += dcg / ideal;
      });
      expect(sum / holdout.users.length).toBeCloseTo(p.validationNdcg10 as number, 4);
      expect(lines.some((l) => l.includes(`best epoch ${p.bestEpoch} of ${p.epochsRun}`))).toBe(true);
    } finally {
      m.dispose();
    }
  });

  it('counts a repeated history item once and ignores the user index', async () => {
    const a = await model.scoreBatch(Int32Array.of(0, -1), [Int32Array.of(4, 4, 9, 4), Int32Array.of(9, 4)]);
    const once = a.subarray(0, N_ITEMS);
    const other = a.subarray(N_ITEMS);
    for (let i = 0; i < N_ITEMS; i++) expect(once[i]).toBeCloseTo(other[i] as number, 5);
  });

  it('refuses bad options and bad batches with typed errors', async () => {
    await expect(vaeCfModel.fit(train, { seed: 1, extra: { dropout: 1 } })).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'dropout' } });
    await expect(vaeCfModel.fit(train, { seed: 1, extra: { betta: 0.2 } })).rejects.toThrow(/Unknown vae-cf option "betta". Valid options: .*beta/);
    await expect(model.scoreBatch(Int32Array.of(0), [Int32Array.of(N_ITEMS)])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

/** The model's export spec, narrowed to the user graph it must be. */
function vaeSpec(): UserGraphExport {
  const spec = model.exportSpec();
  if (spec.kind !== 'user-graph') throw new Error(`vae-cf exported ${spec.kind}`);
  return spec;
}

describe('vae-cf export', () => {
  const users = () => [0, 5, 90, -1, 89, 90, 1, 97];
  // empty, ragged, repeated, stray ids (padding in the graph), a long history
  const histories = () => [[1, 2], [], [0, 3, 3, N_ITEMS - 1], [], [N_ITEMS - 1], [N_ITEMS + 4, -2, 2, 2], Array.from({ length: 25 }, (_, k) => (k * 7) % N_ITEMS), [2]];

  async function runGraph(runtime: (typeof ORT_RUNTIMES)[number], us: number[], hs: number[][], minLength = 0): Promise<Float32Array> {
    const [graph] = exportGraphs(model.exportSpec());
    if (!graph) throw new Error('no graph');
    expect(graph.name).toBe('scorer');
    const out = await runModel(runtime, graph.bytes, { user_index: int64Feed(us), history: padHistories(hs, N_ITEMS, minLength) }, ['scores']);
    return out.scores?.data ?? new Float32Array();
  }

  function maxDiff(a: Float32Array, b: Float32Array): number {
    expect(a.length).toBe(b.length);
    let worst = 0;
    for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs((a[k] as number) - (b[k] as number)));
    return worst;
  }

  it('the reference forward matches the trainer', async () => {
    // scoreBatch takes only in-range items and users in [-1, nUsers)
    const us = [0, 5, -1, 89];
    const hs = [[1, 2], [], [0, 3, 3, N_ITEMS - 1], Array.from({ length: 25 }, (_, k) => (k * 7) % N_ITEMS)];
    const trainer = await model.scoreBatch(Int32Array.from(us), hs.map((h) => Int32Array.from(h)));
    expect(maxDiff(trainer, vaeSpec().reference(Int32Array.from(us), hs.map((h) => Int32Array.from(h))))).toBeLessThanOrEqual(1e-4);
  });

  for (const runtime of ORT_RUNTIMES) {
    it(`onnxruntime ${runtime} matches the trainer and the reference within 1e-4`, async () => {
      const spec = vaeSpec();
      expect(spec.scoring).toBe('scores');
      const us = users();
      const hs = histories();
      const graph = await runGraph(runtime, us, hs);
      expect(maxDiff(graph, spec.reference(Int32Array.from(us), hs.map((h) => Int32Array.from(h))))).toBeLessThanOrEqual(1e-4);
      // the trainer sees the same rows with stray ids dropped and unknown users as -1
      const clean = hs.map((h) => Int32Array.from(h.filter((i) => i >= 0 && i < N_ITEMS)));
      const trainer = await model.scoreBatch(Int32Array.from(us, (u) => (u >= 0 && u < 90 ? u : -1)), clean);
      expect(maxDiff(graph, trainer)).toBeLessThanOrEqual(1e-4);
      // a zero-length history tensor, and padding beyond the longest history
      expect(maxDiff(await runGraph(runtime, [0, 90], [[], []]), spec.reference(Int32Array.of(0, 90), [new Int32Array(0), new Int32Array(0)]))).toBeLessThanOrEqual(1e-4);
      expect(maxDiff(await runGraph(runtime, us, hs, 40), graph)).toBeLessThanOrEqual(1e-5);
    });
  }

  it('reference scores of an empty history do not depend on the user', () => {
    const spec = vaeSpec();
    const s = spec.reference(Int32Array.of(0, 90), [new Int32Array(0), new Int32Array(0)]);
    expect(maxDiff(s.subarray(0, N_ITEMS), s.subarray(N_ITEMS))).toBe(0);
    expect(referenceVaeScores).toBeTypeOf('function');
  });
});

describe('vae-cf bundle', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tm-vae-cf-'));
    await writeModelBundle(dir, model, train);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads in core and serves the trainer ranking for known and new users', async () => {
    const rec = await createRecommender({ bundle: dir, device: 'cpu' });
    try {
      expect(rec.info().model).toMatchObject({ kind: 'vae-cf', scoring: 'scores' });
      const rows = distinctRows(train.csr);
      for (const u of [0, 4, 89]) {
        const seen = rows[u] as Int32Array;
        const scores = await model.scoreBatch(Int32Array.of(u), [seen]);
        const want = topUnseen(scores, new Set(seen), 5);
        const res = await rec.recommend({ userId: `u${u}`, k: 5 });
        expect(res.items.map((i) => i.itemId)).toEqual(want.map((i) => `i${i}`));
        res.items.forEach((item, r) => expect(item.score).toBeCloseTo(scores[want[r] as number] as number, 4));
      }
      const history = [21, 22, 30];
      const scores = await model.scoreBatch(Int32Array.of(-1), [Int32Array.from(history)]);
      const res = await rec.recommend({ history: history.map((i) => `i${i}`).concat('no-such-item'), k: 5 });
      expect(res.items.map((i) => i.itemId)).toEqual(topUnseen(scores, new Set(history), 5).map((i) => `i${i}`));
    } finally {
      await rec.dispose();
    }
  });
});

describe('vae-cf validation holdout', () => {
  it("moves a share of some users' items to validation and leaves the rest whole", () => {
    const rows = [[1, 2, 3, 4], [5], [], [0, 6, 7, 8, 9, 10, 11, 12], [2, 3], [4, 4, 5, 6]].map((r) => Int32Array.from(r));
    const csrRows = distinctRows(trainSetFromRows(rows.map((r) => [...r]), 13).csr);
    const h = holdOutUsers(csrRows, 0.5, 0.25, new Rng(3));
    // eligible users have ≥ 2 distinct items: 0, 3, 4, 5 → round(0.5 · 4) = 2 of them
    expect(h.users.length).toBe(2);
    csrRows.forEach((row, u) => {
      const b = h.users.indexOf(u);
      const kept = [...(h.train[u] as Int32Array)];
      if (b < 0) return expect(kept).toEqual([...row]);
      const held = [...(h.heldOut[b] as Int32Array)];
      expect(held.length).toBe(Math.min(row.length - 1, Math.max(1, Math.round(0.25 * row.length))));
      expect(kept.length).toBeGreaterThanOrEqual(1);
      expect([...kept, ...held].sort((x, y) => x - y)).toEqual([...row]);
    });
  });
});
