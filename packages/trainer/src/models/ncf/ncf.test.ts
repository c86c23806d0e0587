import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Dataset, IdMap, toCsr } from '../../data/index.js';
import { initBackend } from '../../engine/backend.js';
import { Rng } from '../../engine/rng.js';
import { referenceRankerScores } from '../../export/ranker-graph.js';
import { rankerParity, rankerProbePairs } from '../../export/ranker-parity.js';
import { syntheticDataset } from '../../synthetic/index.js';
import type { FitOptions, TrainSet } from '../types.js';
import { type NcfModel, gmfModel, mlpModel, neumfModel } from './index.js';
import { resolveNcfParams, stageParams } from './params.js';
import { leaveOneOutValidation, validationMetrics } from './validation.js';

/** Per user, the last interaction is held out (the rest trains), as in ncf-loo. */
function holdOutLast(dataset: Dataset): { train: TrainSet; test: Map<number, number> } {
  const x = dataset.interactions;
  const last = new Map<number, number>();
  for (let r = 0; r < x.user.length; r++) last.set(x.user[r] as number, r);
  const drop = new Set(last.values());
  const keep = (a: Int32Array | Float32Array | Float64Array) => a.filter((_, r) => !drop.has(r));
  const interactions = {
    user: keep(x.user) as Int32Array,
    item: keep(x.item) as Int32Array,
    value: keep(x.value) as Float32Array,
    timestamp: keep(x.timestamp) as Float64Array,
  };
  const trainDataset: Dataset = { ...dataset, interactions };
  const test = new Map<number, number>();
  for (const [u, r] of last) test.set(u, x.item[r] as number);
  return { train: { dataset: trainDataset, csr: toCsr(trainDataset, dataset.users.size, dataset.items.size) }, test };
}

/** HR@10 of the held-out item among 49 sampled untouched items, with ties against it. */
async function hitRate(score: (users: Int32Array) => Promise<Float32Array>, nItems: number, data: Dataset, test: Map<number, number>): Promise<number> {
  const rng = new Rng(99);
  const touched = new Map<number, Set<number>>();
  data.interactions.user.forEach((u, r) => {
    if (!touched.has(u)) touched.set(u, new Set());
    touched.get(u)?.add(data.interactions.item[r] as number);
  });
  const users = Int32Array.from(test.keys());
  const scores = await score(users);
  let hits = 0;
  users.forEach((u, b) => {
    const target = test.get(u) as number;
    const row = scores.subarray(b * nItems, (b + 1) * nItems);
    let ahead = 0;
    for (let n = 0; n < 49; n++) {
      let j: number;
      do j = rng.int(nItems);
      while (touched.get(u)?.has(j));
      if ((row[j] as number) >= (row[target] as number)) ahead++;
    }
    if (ahead < 10) hits++;
  });
  return hits / users.length;
}

const FAST: FitOptions = { seed: 5, epochs: 12, dim: 8, batchSize: 256, learningRate: 0.01, extra: { mlpLayers: '16-8-4', patience: 3 } };

describe('NCF family', () => {
  const data = syntheticDataset({ users: 240, items: 120, clusters: 6, perUser: 20, seed: 4 });
  const { train, test } = holdOutLast(data);
  const models: Record<string, NcfModel> = {};

  beforeAll(async () => {
    await initBackend('wasm');
    models.gmf = (await gmfModel.fit(train, FAST)) as NcfModel;
    models.mlp = (await mlpModel.fit(train, FAST)) as NcfModel;
    models.neumf = (await neumfModel.fit(train, FAST)) as NcfModel;
  }, 120_000);

  it.each(['gmf', 'mlp', 'neumf'])('%s learns the planted tastes better than popularity', async (id) => {
    const model = models[id] as NcfModel;
    const counts = new Float32Array(model.nItems);
    for (const i of train.csr.indices) counts[i] = (counts[i] as number) + 1;
    const pop = await hitRate(async (u) => Float32Array.from({ length: u.length * model.nItems }, (_, k) => counts[k % model.nItems] as number), model.nItems, data, test);
    const hr = await hitRate((u) => model.scoreBatch(u, Array.from(u, () => new Int32Array(0))), model.nItems, data, test);
    expect(hr).toBeGreaterThan(pop + 0.05);
  });

  it('reports backend, speed, early stopping and effective parameters', () => {
    const gmf = models.gmf as NcfModel;
    expect(gmf.info.backend).toBe('typed-arrays');
    expect((models.neumf as NcfModel).info.backend).toBe('wasm');
    expect(gmf.info.samplesPerSecond).toBeGreaterThan(0);
    expect(gmf.info.params).toMatchObject({ gmfDim: 8, negatives: 4, batchSize: 256, mlpLayers: '16-8-4' });
    const stages = (models.neumf as NcfModel).info.params.stages as { variant: string; bestEpoch: number; epochs: { 'ndcg@10': number }[] }[];
    expect(stages).toHaveLength(1);
    const best = stages[0]?.bestEpoch ?? 0;
    const curve = (stages[0]?.epochs ?? []).map((e) => e['ndcg@10']);
    // the model kept is the best epoch on validation
    expect(curve[best - 1]).toBe(Math.max(...curve));
  });

  it('scoreBatch, scorePairs and the exported reference agree (unknown users = mean user)', async () => {
    for (const model of Object.values(models)) {
      const users = Int32Array.from([0, 7, -1, 239]);
      const all = await model.scoreBatch(users, Array.from(users, () => new Int32Array(0)));
      const items = Int32Array.from([0, 5, 119, 60]);
      const pairUsers = Int32Array.from(Array.from(users).flatMap((u) => [u, u, u, u]));
      const pairItems = Int32Array.from(Array.from(users).flatMap(() => Array.from(items)));
      const pairs = model.scorePairs(pairUsers, pairItems);
      const reference = referenceRankerScores(model.exportSpec(), pairUsers, pairItems);
      pairUsers.forEach((_, k) => {
        const b = Math.floor(k / 4);
        const fromAll = all[b * model.nItems + (pairItems[k] as number)] as number;
        expect(Math.abs(fromAll - (reference[k] as number))).toBeLessThan(1e-4);
        expect(Math.abs((pairs[k] as number) - (reference[k] as number))).toBeLessThan(1e-4);
      });
    }
  });

  it.each(['gmf', 'mlp', 'neumf'])('%s ranker graph matches in onnxruntime-node and -web within 1e-4', async (id) => {
    const model = models[id] as NcfModel;
    const spec = model.exportSpec();
    const result = await rankerParity(spec);
    expect(result.runtimes.node.maxError).toBeLessThanOrEqual(1e-4);
    expect(result.runtimes['web-wasm'].maxError).toBeLessThanOrEqual(1e-4);
    // and the trainer's own tfjs scores of the same (in-range) pairs
    const probe = rankerProbePairs(spec);
    const valid = Array.from(probe.items.keys()).filter((k) => (probe.items[k] as number) >= 0 && (probe.items[k] as number) < spec.nItems);
    const mine = model.scorePairs(Int32Array.from(valid, (k) => probe.users[k] as number), Int32Array.from(valid, (k) => probe.items[k] as number));
    valid.forEach((k, j) => expect(Math.abs((mine[j] as number) - (result.runtimes.node.scores[k] as number))).toBeLessThan(1e-4));
  });

  it('NeuMF pre-trains GMF and MLP first and records each stage', async () => {
    const before = tf.memory().numTensors;
    const m = (await neumfModel.fit(train, { ...FAST, epochs: 2, extra: { ...FAST.extra, pretrain: true } })) as NcfModel;
    const stages = m.info.params.stages as { variant: string }[];
    expect(stages.map((s) => s.variant)).toEqual(['gmf', 'mlp', 'neumf']);
    // α defaults to "auto": one of the grid's values, chosen on validation, is what was used
    expect([0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]).toContain(m.info.params.alpha);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refit replays the validated schedule on every positive, validation ones included', async () => {
    const m = (await gmfModel.fit(train, { ...FAST, extra: { ...FAST.extra, refit: true } })) as NcfModel;
    type Stage = { variant: string; refit?: boolean; bestEpoch: number; samples: number; epochs: { 'ndcg@10'?: number }[] };
    const [chosen, refit, ...rest] = m.info.params.stages as Stage[];
    expect(rest).toHaveLength(0);
    expect(chosen?.refit).toBeUndefined();
    expect(refit?.refit).toBe(true);
    // as many epochs as validation kept, none of them scored on (there is no validation left)
    expect(refit?.epochs).toHaveLength(chosen?.bestEpoch ?? -1);
    expect(refit?.epochs.every((e) => e['ndcg@10'] === undefined)).toBe(true);
    // each epoch sees every training positive (the 240 users' held-out ones are back) and its negatives
    const positives = train.csr.indptr[train.csr.rows] as number;
    expect(refit?.samples).toBe(positives * 5 * (chosen?.bestEpoch ?? 0));
    expect((chosen?.samples ?? 0) / (chosen?.epochs.length ?? 1)).toBe((positives - 240) * 5);
    // the refit model is a different (retrained) model, and a good one
    const u = Int32Array.from([1, 2]);
    expect(await m.scoreBatch(u, [new Int32Array(0), new Int32Array(0)])).not.toEqual(await (models.gmf as NcfModel).scoreBatch(u, [new Int32Array(0), new Int32Array(0)]));
    m.dispose();
  });

  it('plateauDecay cuts the learning rates on a validation plateau and goes on; refit replays the cuts', async () => {
    type Stage = { refit?: boolean; bestEpoch: number; decayedAfter?: number[]; epochs: { epoch: number; 'ndcg@10'?: number }[] };
    const extra = { ...FAST.extra, patience: 1 };
    const plain = (await gmfModel.fit(train, { ...FAST, extra })) as NcfModel;
    const stopped = (plain.info.params.stages as Stage[])[0] as Stage;
    plain.dispose();
    expect(stopped.decayedAfter).toBeUndefined();
    const stopAt = stopped.epochs.length;
    expect(stopAt).toBeLessThan(FAST.epochs ?? 0);

    const m = (await gmfModel.fit(train, { ...FAST, extra: { ...extra, plateauDecay: 0.3, plateauDecays: 2, refit: true } })) as NcfModel;
    const [chosen, refit] = m.info.params.stages as Stage[];
    // the same run up to its first plateau; there the rates are cut and training goes on
    expect(chosen?.decayedAfter?.[0]).toBe(stopAt);
    expect(chosen?.epochs.slice(0, stopAt)).toEqual(stopped.epochs.map((e) => ({ ...e, seconds: expect.any(Number) })));
    expect(chosen?.decayedAfter?.length).toBeLessThanOrEqual(2);
    expect(chosen?.epochs.length).toBeGreaterThan(stopAt);
    // the refit cuts where validation did, within the epochs it replays
    expect(refit?.refit).toBe(true);
    const within = (chosen?.decayedAfter ?? []).filter((e) => e <= (chosen?.bestEpoch ?? 0));
    expect(refit?.decayedAfter ?? []).toEqual(within);
    m.dispose();
    expect(() => resolveNcfParams('gmf', { seed: 1, extra: { plateauDecay: 1 } })).toThrow(/plateauDecay must be in \[0, 1\)/);
    expect(() => resolveNcfParams('gmf', { seed: 1, extra: { plateauDecays: 1.5 } })).toThrow(/plateauDecays must be a non-negative integer/);
  });

  it('NeuMF refit reuses the chosen alpha and skips a joint stage that validation did not keep', async () => {
    const before = tf.memory().numTensors;
    const m = (await neumfModel.fit(train, { ...FAST, epochs: 3, extra: { ...FAST.extra, pretrain: true, refit: true } })) as NcfModel;
    type Stage = { variant: string; refit?: boolean; bestEpoch: number; epochs: unknown[] };
    const stages = m.info.params.stages as Stage[];
    const chosen = stages.filter((s) => !s.refit);
    const refit = stages.filter((s) => s.refit);
    expect(chosen.map((s) => s.variant)).toEqual(['gmf', 'mlp', 'neumf']);
    const joint = chosen[2] as Stage;
    expect(refit.map((s) => s.variant)).toEqual(joint.bestEpoch > 0 ? ['gmf', 'mlp', 'neumf'] : ['gmf', 'mlp']);
    refit.forEach((s, k) => expect(s.epochs).toHaveLength(chosen[k]?.bestEpoch ?? -1));
    expect([0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]).toContain(m.info.params.alpha);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is deterministic for a seed', async () => {
    const again = (await gmfModel.fit(train, FAST)) as NcfModel;
    const u = Int32Array.from([1, 2]);
    expect(await again.scoreBatch(u, [new Int32Array(0), new Int32Array(0)])).toEqual(await (models.gmf as NcfModel).scoreBatch(u, [new Int32Array(0), new Int32Array(0)]));
    again.dispose();
  });

  it('rejects bad options with INVALID_CONFIG listing what is expected', async () => {
    await expect(neumfModel.fit(train, { ...FAST, extra: { mlpLayers: '15-8' } })).rejects.toThrow(/mlpLayers must start with an even width/);
    await expect(neumfModel.fit(train, { ...FAST, extra: { negatives: 0 } })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(gmfModel.fit(train, { ...FAST, extra: { pretrain: 'maybe' } })).rejects.toThrow(/pretrain must be true or false/);
    await expect(neumfModel.fit(train, { ...FAST, extra: { pretrain: true, alpha: 'high' } })).rejects.toThrow(/alpha must be "auto" or a number in \[0, 1\]/);
    await expect(gmfModel.fit(train, { ...FAST, extra: { validationHoldout: 'first' } })).rejects.toThrow(/validationHoldout must be one of "random", "latest"/);
  });
});

describe('recency weighting', () => {
  /**
   * Tastes that drift: each user rated 14 items of one cluster, then 6 of another, in that order;
   * the last of the 6 is held out. Only a model that leans on recent items ranks it above the
   * unseen items of the old cluster.
   */
  function driftingDataset(): Dataset {
    const nUsers = 160;
    const perCluster = 50;
    const rng = new Rng(3);
    const user: number[] = [];
    const item: number[] = [];
    const timestamp: number[] = [];
    const pick = (cluster: number, n: number, seen: Set<number>): number[] => {
      const out: number[] = [];
      while (out.length < n) {
        const i = cluster * perCluster + rng.int(perCluster);
        if (seen.has(i)) continue;
        seen.add(i);
        out.push(i);
      }
      return out;
    };
    for (let u = 0; u < nUsers; u++) {
      const old = u % 4;
      const now = (old + 1 + (u >> 2) % 3) % 4;
      const seen = new Set<number>();
      [...pick(old, 14, seen), ...pick(now, 6, seen)].forEach((i, k) => {
        user.push(u);
        item.push(i);
        timestamp.push(1_700_000_000 + u * 1000 + k);
      });
    }
    return {
      name: 'drifting',
      users: IdMap.from(Array.from({ length: nUsers }, (_, u) => `u${u}`)),
      items: IdMap.from(Array.from({ length: 4 * perCluster }, (_, i) => `i${i}`)),
      interactions: { user: Int32Array.from(user), item: Int32Array.from(item), value: new Float32Array(user.length).fill(1), timestamp: Float64Array.from(timestamp) },
    };
  }

  it('recencyWindow trains the latest positives more and ranks the next item higher', async () => {
    const data = driftingDataset();
    const { train, test } = holdOutLast(data);
    const hr = async (extra: Record<string, number>): Promise<number> => {
      const model = (await gmfModel.fit(train, { ...FAST, extra: { ...FAST.extra, ...extra } })) as NcfModel;
      try {
        return await hitRate((u) => model.scoreBatch(u, Array.from(u, () => new Int32Array(0))), model.nItems, data, test);
      } finally {
        model.dispose();
      }
    };
    const plain = await hr({});
    const recent = await hr({ recencyWindow: 5, recencyRepeats: 3 });
    // measured +0.11 to +0.18 over seeds 5-7 (HR 0.16-0.23 → 0.33-0.36)
    expect(recent).toBeGreaterThan(plain + 0.08);
    await expect(gmfModel.fit(train, { ...FAST, extra: { recencyWindow: 2.5 } })).rejects.toThrow(/recencyWindow must be a non-negative integer/);
    await expect(gmfModel.fit(train, { ...FAST, extra: { recencyRepeats: -1 } })).rejects.toThrow(/recencyRepeats must be a non-negative integer/);
    const untimed: TrainSet = { ...train, dataset: { ...train.dataset, interactions: { ...train.dataset.interactions, timestamp: new Float64Array(train.dataset.interactions.user.length).fill(Number.NaN) } } };
    await expect(gmfModel.fit(untimed, { ...FAST, extra: { recencyWindow: 5 } })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/needs timestamped interactions/) });
  });
});

describe('leave-one-out validation', () => {
  it('holds out one positive per user with two or more, with negatives outside the full row', () => {
    const rows = [[0, 1, 2], [3], [4, 5], []];
    const indptr = Int32Array.from([0, 3, 4, 6, 6]);
    const csr = { rows: 4, cols: 10, indptr, indices: Int32Array.from(rows.flat()), values: new Float32Array(6).fill(1) };
    const { train, validation } = leaveOneOutValidation(csr, 5, new Rng(1));
    expect(Array.from(validation.users)).toEqual([0, 2]);
    expect(train.indptr[4]).toBe(4);
    for (const [v, u] of Array.from(validation.users).entries()) {
      const list = Array.from(validation.candidates.subarray(v * 6, (v + 1) * 6));
      const row = rows[u] as number[];
      expect(row).toContain(list[0]);
      const kept = Array.from(train.indices.subarray(train.indptr[u] as number, train.indptr[u + 1] as number));
      expect(kept).not.toContain(list[0]);
      for (const neg of list.slice(1)) expect(row).not.toContain(neg);
    }
    // A preferred item (the latest, with validationHoldout=latest) is the one held out.
    const latest = leaveOneOutValidation(csr, 5, new Rng(1), Int32Array.from([2, 3, 4, -1]));
    expect([latest.validation.candidates[0], latest.validation.candidates[6]]).toEqual([2, 4]);
    // The positive ahead of every negative is a hit at rank 1; ties count against it.
    const scores = Float32Array.from([9, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    expect(validationMetrics(validation, scores)).toEqual({ hr: 1, ndcg: 0.5 * (1 + 1 / Math.log2(7)) });
  });
});

describe('NeuMF pre-training stages', () => {
  it('give the GMF stage its own negatives ratio when gmfStageNegatives is set', () => {
    const p = resolveNcfParams('neumf', { seed: 1, extra: { pretrain: true, negatives: 4, gmfStageNegatives: 8 } });
    expect(stageParams(p, 'gmf')).toMatchObject({ variant: 'gmf', negatives: 8, pretrain: false });
    expect(stageParams(p, 'mlp')).toMatchObject({ variant: 'mlp', negatives: 4 });
    const q = resolveNcfParams('neumf', { seed: 1, extra: { pretrain: true, negatives: 4, mlpStageNegatives: 6 } });
    expect([stageParams(q, 'gmf').negatives, stageParams(q, 'mlp').negatives]).toEqual([4, 6]);
    expect(stageParams(resolveNcfParams('neumf', { seed: 1, extra: { negatives: 3 } }), 'gmf').negatives).toBe(3);
    expect(() => resolveNcfParams('neumf', { seed: 1, extra: { gmfStageNegatives: -1 } })).toThrow(/gmfStageNegatives must be >= 0/);
    expect(() => resolveNcfParams('neumf', { seed: 1, extra: { mlpStageNegatives: 'x' } })).toThrow(/mlpStageNegatives must be a number/);
    expect(() => resolveNcfParams('neumf', { seed: 1, extra: { refit: 'sometimes' } })).toThrow(/refit must be true or false/);
  });
});
