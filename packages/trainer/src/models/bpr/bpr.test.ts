import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import type { FitOptions } from '../types.js';
import { bprModel } from './index.js';
import { trainSetFromRows } from '../test-fixtures.js';

/**
 * Planted blocks: item i belongs to block i % blocks, user u to block u % blocks; every user takes
 * 9 random items of their block, 3 of which are held out.
 */
function plantedBlocks(seed: number) {
  const blocks = 4;
  const perBlock = 15;
  const nItems = blocks * perBlock;
  const nUsers = 120;
  const rng = new Rng(seed);
  const train: number[][] = [];
  const heldOut: number[][] = [];
  for (let u = 0; u < nUsers; u++) {
    const block = Array.from({ length: perBlock }, (_, k) => k * blocks + (u % blocks));
    rng.shuffle(block);
    train.push(block.slice(0, 6));
    heldOut.push(block.slice(6, 9));
  }
  return { nItems, nUsers, blocks, train, heldOut };
}

const quick: FitOptions = { seed: 7, dim: 16, epochs: 30, learningRate: 0.1, l2: 0.01 };

describe('bprModel', () => {
  it('learns a planted block structure: held-out items of the user block rank above other blocks (AUC > 0.9)', async () => {
    const data = plantedBlocks(1);
    const model = await bprModel.fit(trainSetFromRows(data.train, data.nItems), quick);
    const users = Int32Array.from({ length: data.nUsers }, (_, u) => u);
    const scores = await model.scoreBatch(users, Array.from(users, () => new Int32Array(0)));
    let pairs = 0;
    let correct = 0;
    for (let u = 0; u < data.nUsers; u++) {
      for (const pos of data.heldOut[u]!) {
        for (let j = 0; j < data.nItems; j++) {
          if (j % data.blocks === u % data.blocks) continue;
          pairs++;
          const diff = scores[u * data.nItems + pos]! - scores[u * data.nItems + j]!;
          correct += diff > 0 ? 1 : diff === 0 ? 0.5 : 0;
        }
      }
    }
    expect(correct / pairs).toBeGreaterThan(0.9);
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    const data = plantedBlocks(2);
    const train = trainSetFromRows(data.train, data.nItems);
    const a = (await bprModel.fit(train, { ...quick, epochs: 5 })).exportSpec();
    const b = (await bprModel.fit(train, { ...quick, epochs: 5 })).exportSpec();
    const c = (await bprModel.fit(train, { ...quick, epochs: 5, seed: 8 })).exportSpec();
    if (a.kind !== 'matrix-factorization' || b.kind !== 'matrix-factorization' || c.kind !== 'matrix-factorization') throw new Error('not MF');
    expect(Array.from(b.userFactors)).toEqual(Array.from(a.userFactors));
    expect(Array.from(b.itemFactors)).toEqual(Array.from(a.itemFactors));
    expect(Array.from(b.itemBias ?? [])).toEqual(Array.from(a.itemBias ?? []));
    expect(Array.from(c.itemFactors)).not.toEqual(Array.from(a.itemFactors));
  });

  it('exports P, Q and item bias, and scores unknown users as the mean of Q over their history', async () => {
    const data = plantedBlocks(3);
    const progress: string[] = [];
    const model = await bprModel.fit(trainSetFromRows(data.train, data.nItems), {
      ...quick,
      epochs: 4,
      progress: {
        start: (label, total) => progress.push(`start ${label} ${total}`),
        update: (done, info) => progress.push(`update ${done} ${typeof info?.loss}`),
        stop: () => progress.push('stop'),
      },
    });
    expect(progress).toEqual(['start bpr: epochs 4', 'update 1 number', 'update 2 number', 'update 3 number', 'update 4 number', 'stop']);
    expect(model.info).toMatchObject({ backend: 'typed-arrays', epochs: 4, params: { dim: 16, epochs: 4, learningRate: 0.1, l2: 0.01 } });
    const spec = model.exportSpec();
    if (spec.kind !== 'matrix-factorization') throw new Error(`unexpected export ${spec.kind}`);
    const d = spec.dim;
    const n = data.nItems;
    expect(d).toBe(16);
    expect(spec.userFactors.length).toBe(data.nUsers * d);
    expect(spec.itemFactors.length).toBe(n * d);
    expect(spec.itemBias?.length).toBe(n);
    const bias = spec.itemBias ?? new Float32Array(n);

    const history = Int32Array.from([2, 5, 9]);
    const users = Int32Array.from([3, -1, -1]);
    const scores = await model.scoreBatch(users, [history, history, new Int32Array(0)]);
    const vectors = await model.embedUsers!(users, [history, history, new Int32Array(0)]);
    const mean = Array.from({ length: d }, (_, k) => history.reduce((s, h) => s + spec.itemFactors[h * d + k]!, 0) / history.length);
    const known = Array.from(spec.userFactors.subarray(3 * d, 4 * d));
    const zero = new Array<number>(d).fill(0);
    [known, mean, zero].forEach((v, b) => {
      for (let k = 0; k < d; k++) expect(vectors[b * d + k]).toBeCloseTo(v[k]!, 6);
      for (let i = 0; i < n; i++) {
        let s = bias[i]!;
        for (let k = 0; k < d; k++) s += v[k]! * spec.itemFactors[i * d + k]!;
        expect(scores[b * n + i]).toBeCloseTo(s, 5);
      }
    });
  });

  it('rejects invalid hyper-parameters', async () => {
    const data = plantedBlocks(4);
    const train = trainSetFromRows(data.train, data.nItems);
    await expect(bprModel.fit(train, { seed: 1, dim: 0 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(bprModel.fit(train, { seed: 1, learningRate: -1 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(bprModel.fit(train, { seed: 1, extra: { decay: 2 } })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
