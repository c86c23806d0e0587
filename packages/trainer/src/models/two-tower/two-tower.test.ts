import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { IdMap, toCsr, type Dataset } from '../../data/index.js';
import { initBackend } from '../../engine/backend.js';
import { Rng } from '../../engine/rng.js';
import { referenceUserVectors } from '../../export/graphs.js';
import { syntheticDataset } from '../../synthetic/index.js';
import type { FitOptions, TrainedModel, TrainSet } from '../types.js';
import { twoTowerModel } from './index.js';

/** Every 4th interaction of each user is held out; the rest trains. */
function holdOut(dataset: Dataset): { train: TrainSet; test: Map<number, number[]> } {
  const x = dataset.interactions;
  const keep: number[] = [];
  const test = new Map<number, number[]>();
  const seen = new Map<number, number>();
  for (let r = 0; r < x.user.length; r++) {
    const u = x.user[r] as number;
    const n = seen.get(u) ?? 0;
    seen.set(u, n + 1);
    if (n % 4 === 3) test.set(u, [...(test.get(u) ?? []), x.item[r] as number]);
    else keep.push(r);
  }
  const kept = new Uint8Array(x.user.length);
  for (const r of keep) kept[r] = 1;
  const pick = <T extends Int32Array | Float32Array | Float64Array>(a: T): T => a.filter((_, i) => kept[i] === 1) as T;
  const interactions = { user: pick(x.user), item: pick(x.item), value: pick(x.value), timestamp: pick(x.timestamp) };
  const trainDataset: Dataset = { ...dataset, interactions };
  return { train: { dataset: trainDataset, csr: toCsr(trainDataset, dataset.users.size, dataset.items.size) }, test };
}

function historyOf(train: TrainSet, u: number): Int32Array {
  return train.csr.indices.slice(train.csr.indptr[u] as number, train.csr.indptr[u + 1] as number);
}

/** Mean over users of the AUC of held-out items against items the user never touched. */
async function meanAuc(
  score: (users: Int32Array, histories: Int32Array[]) => Promise<Float32Array>,
  nItems: number,
  train: TrainSet,
  test: Map<number, number[]>,
  all: Dataset,
): Promise<number> {
  const users = Int32Array.from(test.keys());
  const scores = await score(users, Array.from(users, (u) => historyOf(train, u)));
  const touched = new Map<number, Set<number>>();
  for (let r = 0; r < all.interactions.user.length; r++) {
    const u = all.interactions.user[r] as number;
    if (!touched.has(u)) touched.set(u, new Set());
    touched.get(u)?.add(all.interactions.item[r] as number);
  }
  let sum = 0;
  users.forEach((u, b) => {
    const pos = test.get(u) ?? [];
    const row = scores.subarray(b * nItems, (b + 1) * nItems);
    const neg: number[] = [];
    for (let i = 0; i < nItems; i++) if (!touched.get(u)?.has(i)) neg.push(i);
    let wins = 0;
    for (const p of pos) for (const n of neg) wins += (row[p] as number) > (row[n] as number) ? 1 : (row[p] as number) === (row[n] as number) ? 0.5 : 0;
    sum += wins / (pos.length * neg.length);
  });
  return sum / users.length;
}

const FAST: FitOptions = { seed: 7, epochs: 6, dim: 16, batchSize: 128, extra: { negatives: 64, userHidden: '32' } };

describe('two-tower', () => {
  const data = syntheticDataset({ users: 200, items: 120, clusters: 6, perUser: 20, seed: 3 });
  const { train, test } = holdOut(data);
  let model: TrainedModel;

  beforeAll(async () => {
    await initBackend('wasm');
    model = await twoTowerModel.fit(train, FAST);
  });

  it('reports the backend, speed and parameters', () => {
    expect(model.id).toBe('two-tower');
    expect(model.info.backend).toBe('wasm');
    expect(model.info.samplesPerSecond).toBeGreaterThan(0);
    expect(model.info.params).toMatchObject({ dim: 16, epochs: 6, batchSize: 128, negatives: 64 });
  });

  it('learns the planted clusters: held-out items outrank untouched ones', async () => {
    const auc = await meanAuc((u, h) => model.scoreBatch(u, h), model.nItems, train, test, data);
    // Popularity alone already ranks well on this data (it is skewed within clusters); the towers
    // must add the users' tastes on top.
    const counts = new Float32Array(model.nItems);
    for (const i of train.csr.indices) counts[i] = (counts[i] as number) + 1;
    const popularityAuc = await meanAuc(async (u) => Float32Array.from({ length: u.length * model.nItems }, (_, k) => counts[k % model.nItems] as number), model.nItems, train, test, data);
    expect(auc).toBeGreaterThan(0.8);
    expect(auc).toBeGreaterThan(popularityAuc + 0.15);
  });

  it('is deterministic for a seed on one backend', async () => {
    const again = await twoTowerModel.fit(train, FAST);
    const users = Int32Array.from([0, 1, 2]);
    const h = Array.from(users, (u) => historyOf(train, u));
    expect(await again.embedUsers?.(users, h)).toEqual(await model.embedUsers?.(users, h));
    expect(again.exportSpec()).toEqual(model.exportSpec());
    again.dispose();
    const other = await twoTowerModel.fit(train, { ...FAST, seed: 8, epochs: 1 });
    expect((await other.embedUsers?.(users, h)) ?? []).not.toEqual(await model.embedUsers?.(users, h));
    other.dispose();
  });

  it('exports a spec whose plain-JS user tower reproduces embedUsers', async () => {
    const spec = model.exportSpec();
    if (spec.kind !== 'two-tower') throw new Error(`unexpected kind ${spec.kind}`);
    expect(spec.nUsers).toBe(200);
    expect(spec.nItems).toBe(120);
    expect(spec.dim).toBe(16);
    expect(spec.userEmbedding.values.length).toBe(200 * spec.userEmbedding.dim);
    expect(spec.historyEmbedding.values.length).toBe(120 * spec.historyEmbedding.dim);
    expect(spec.itemVectors.length).toBe(120 * 16);
    expect(spec.layers[0]?.inputDim).toBe(spec.userEmbedding.dim + spec.historyEmbedding.dim + (spec.userFeatures?.names.length ?? 0));
    expect(spec.layers.at(-1)?.outputDim).toBe(16);

    // known users with their histories, known users with none, unknown users with and without
    const users = Int32Array.from([0, 5, 17, 3, -1, -1, 199]);
    const histories = [historyOf(train, 0), historyOf(train, 5), Int32Array.from([1, 2, 3]), new Int32Array(0), Int32Array.from([7, 8, 7]), new Int32Array(0), historyOf(train, 199)];
    const mine = await model.embedUsers?.(users, histories);
    const reference = referenceUserVectors(spec, users, histories);
    expect(mine?.length).toBe(users.length * 16);
    for (let i = 0; i < reference.length; i++) expect(Math.abs((mine?.[i] ?? NaN) - (reference[i] as number))).toBeLessThan(1e-4);

    // Scores are the dot products with the exported item vectors.
    const scores = await model.scoreBatch(users, histories);
    for (const [b, i] of [
      [0, 0],
      [4, 77],
      [6, 119],
    ] as const) {
      let dot = 0;
      for (let k = 0; k < 16; k++) dot += (reference[b * 16 + k] as number) * (spec.itemVectors[i * 16 + k] as number);
      expect(Math.abs((scores[b * 120 + i] as number) - dot)).toBeLessThan(1e-4);
    }
  });

  it('uses user side features and keeps parity with them', async () => {
    const rng = new Rng(1);
    const nf = 3;
    const values = Float32Array.from({ length: 200 * nf }, () => rng.normal() * 2 + 5);
    const withFeatures: TrainSet = { ...train, dataset: { ...train.dataset, userFeatures: { names: ['a', 'b', 'c'], values } } };
    const m = await twoTowerModel.fit(withFeatures, { ...FAST, epochs: 1 });
    const spec = m.exportSpec();
    if (spec.kind !== 'two-tower') throw new Error('kind');
    expect(spec.userFeatures?.names).toEqual(['a', 'b', 'c']);
    const users = Int32Array.from([4, -1, 9]);
    const histories = [historyOf(train, 4), Int32Array.from([1]), new Int32Array(0)];
    const mine = (await m.embedUsers?.(users, histories)) ?? new Float32Array(0);
    const reference = referenceUserVectors(spec, users, histories);
    for (let i = 0; i < reference.length; i++) expect(Math.abs((mine[i] as number) - (reference[i] as number))).toBeLessThan(1e-4);
    m.dispose();
  });

  it('does not leak tensors across training or scoring', async () => {
    const before = tf.memory().numTensors;
    const m = await twoTowerModel.fit(train, { ...FAST, epochs: 2 });
    await m.scoreBatch(Int32Array.from([0, 1]), [historyOf(train, 0), historyOf(train, 1)]);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad options with INVALID_CONFIG', async () => {
    await expect(twoTowerModel.fit(train, { ...FAST, extra: { activation: 'gelu' } })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(twoTowerModel.fit(train, { ...FAST, backend: 'tpu' })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });

  it('handles users without training items and ids the dataset has but no interaction uses', async () => {
    const sparse: Dataset = { ...train.dataset, users: IdMap.from([...train.dataset.users.ids, 'new-user']) };
    const m = await twoTowerModel.fit({ dataset: sparse, csr: toCsr(sparse, sparse.users.size, sparse.items.size) }, { ...FAST, epochs: 1 });
    expect(m.nUsers).toBe(201);
    const v = (await m.embedUsers?.(Int32Array.from([200]), [new Int32Array(0)])) ?? new Float32Array(0);
    expect(v.every(Number.isFinite)).toBe(true);
    m.dispose();
  });
});
