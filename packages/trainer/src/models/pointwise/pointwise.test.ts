import { describe, expect, it } from 'vitest';
import { IdMap, type Dataset } from '../../data/dataset.js';
import { csrRow } from '../../data/csr.js';
import { Rng } from '../../engine/rng.js';
import { randomRows, trainSetFromRows } from '../test-fixtures.js';
import { trainSetOf } from '../train-set.js';
import { plantedCtrDataset } from './ctr-test-data.js';
import {
  EarlyStopping,
  NegativeSampler,
  buildCtrFeatures,
  explicitPairs,
  fitPointwise,
  hasExplicitNegatives,
  holdOutPositives,
  logLoss,
  logLossFromLogits,
  pairSlots,
  pointwiseOptions,
  repeatRecentPositives,
  splitPairsByUser,
  typedArrayState,
  yearBucket,
} from './index.js';

const csrOf = (rows: number[][], nItems: number) => trainSetFromRows(rows, nItems).csr;

describe('NegativeSampler', () => {
  const rows = randomRows(3, 40, 30, 0.3);
  const csr = csrOf(rows, 30);

  it('emits every positive once and `ratio` negatives per positive, none of them a positive of the user', () => {
    const pairs = new NegativeSampler(csr, { ratio: 4 }).sample(new Rng(1));
    const nPos = csr.indices.length;
    expect(pairs.user.length).toBe(nPos * 5);
    let positives = 0;
    for (let k = 0; k < pairs.user.length; k++) {
      const taken = new Set(csrRow(csr, pairs.user[k]!));
      if (pairs.label[k] === 1) {
        positives++;
        expect(taken.has(pairs.item[k]!)).toBe(true);
      } else {
        expect(taken.has(pairs.item[k]!)).toBe(false);
      }
    }
    expect(positives).toBe(nPos);
  });

  it('is deterministic per seed and fresh across seeds', () => {
    const s = new NegativeSampler(csr, { ratio: 2 });
    expect(s.sample(new Rng(5)).item).toEqual(s.sample(new Rng(5)).item);
    expect(s.sample(new Rng(5)).item).not.toEqual(s.sample(new Rng(6)).item);
  });

  it('honours a fractional ratio in expectation and respects `exclude`', () => {
    const pairs = new NegativeSampler(csr, { ratio: 0.5 }).sample(new Rng(2));
    const negatives = pairs.label.filter((l) => l === 0).length;
    expect(negatives / csr.indices.length).toBeGreaterThan(0.4);
    expect(negatives / csr.indices.length).toBeLessThan(0.6);
    // a user who has seen all but one item always gets that item as negative
    const almostAll = csrOf([[0, 1, 2, 3], [0]], 5);
    const only = new NegativeSampler(csrOf([[0], [0]], 5), { ratio: 3, exclude: almostAll }).sample(new Rng(3));
    for (let k = 0; k < only.user.length; k++) if (only.user[k] === 0 && only.label[k] === 0) expect(only.item[k]).toBe(4);
  });

  it('rejects a negative ratio with a typed configuration error', () => {
    expect(() => new NegativeSampler(csr, { ratio: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});

describe('repeatRecentPositives', () => {
  // user 0 rated 4, 1, 7, 2 in that order (7 and 2 at the same second: the later row is the later);
  // user 1 rated 3 and 5; user 2 nothing
  const csr = { rows: 3, cols: 8, indptr: Int32Array.of(0, 4, 6, 6), indices: Int32Array.of(1, 2, 4, 7, 3, 5), values: Float32Array.of(5, 4, 3, 2, 1, 1) };
  const interactions = {
    user: Int32Array.of(0, 1, 0, 0, 1, 0),
    item: Int32Array.of(4, 5, 1, 7, 3, 2),
    value: new Float32Array(6).fill(1),
    timestamp: Float64Array.of(10, 30, 11, 12, 20, 12),
  };
  const rows = (m: { indptr: Int32Array; indices: Int32Array }) => [0, 1, 2].map((u) => Array.from(m.indices.subarray(m.indptr[u], m.indptr[u + 1])));

  it("repeats each user's latest positives, rows ascending, values carried, the input untouched", () => {
    const out = repeatRecentPositives(csr, interactions, 2, 2);
    expect(rows(out)).toEqual([[1, 2, 2, 2, 4, 7, 7, 7], [3, 3, 3, 5, 5, 5], []]);
    expect(Array.from(out.values.subarray(0, 4))).toEqual([5, 4, 4, 4]);
    expect(rows(csr)).toEqual([[1, 2, 4, 7], [3, 5], []]);
    // only positives still in the matrix count (a held-out latest item is not there)
    const heldOut = { ...csr, indptr: Int32Array.of(0, 3, 5, 5), indices: Int32Array.of(1, 4, 7, 3, 5), values: new Float32Array(5).fill(1) };
    expect(rows(repeatRecentPositives(heldOut, interactions, 1, 1))[0]).toEqual([1, 4, 7, 7]);
    expect(repeatRecentPositives(csr, interactions, 0, 3)).toBe(csr);
  });

  it('refuses bad settings and data without timestamps', () => {
    expect(() => repeatRecentPositives(csr, interactions, -1, 1)).toThrow(/recencyWindow must be a non-negative integer/);
    expect(() => repeatRecentPositives(csr, interactions, 2, 0.5)).toThrow(/recencyRepeats must be a non-negative integer/);
    const untimed = { ...interactions, timestamp: new Float64Array(6).fill(Number.NaN) };
    expect(() => repeatRecentPositives(csr, untimed, 2, 1)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});

describe('explicitPairs', () => {
  it('labels interactions by the threshold', () => {
    const dataset: Dataset = {
      name: 't',
      users: IdMap.from(['a', 'b']),
      items: IdMap.from(['x', 'y']),
      interactions: { user: Int32Array.of(0, 0, 1), item: Int32Array.of(0, 1, 1), value: Float32Array.of(5, 3, 4), timestamp: new Float64Array(3) },
    };
    expect(Array.from(explicitPairs(dataset, (v) => v >= 4).label)).toEqual([1, 0, 1]);
  });
});

describe('validation splits', () => {
  it('splitPairsByUser holds out about the fraction per user and keeps every user in train', () => {
    const pairs = new NegativeSampler(csrOf(randomRows(4, 50, 40, 0.2), 40), { ratio: 1 }).sample(new Rng(1));
    const { train, validation } = splitPairsByUser(pairs, 0.2, new Rng(9));
    expect(train.user.length + validation.user.length).toBe(pairs.user.length);
    expect(validation.user.length / pairs.user.length).toBeGreaterThan(0.15);
    expect(validation.user.length / pairs.user.length).toBeLessThan(0.25);
    expect(new Set(train.user)).toEqual(new Set(pairs.user));
    // a user with one pair keeps it in train
    const single = splitPairsByUser({ user: Int32Array.of(0), item: Int32Array.of(1), label: Float32Array.of(1) }, 0.9, new Rng(1));
    expect(single.validation.user.length).toBe(0);
  });

  it('holdOutPositives partitions each user row and keeps one positive per user in train', () => {
    const csr = csrOf(randomRows(5, 30, 25, 0.3), 25);
    const { train, validation } = holdOutPositives(csr, 0.25, new Rng(2));
    for (let u = 0; u < csr.rows; u++) {
      const all = Array.from(csrRow(csr, u));
      const merged = [...csrRow(train, u), ...csrRow(validation, u)].sort((a, b) => a - b);
      expect(merged).toEqual(all);
      if (all.length > 0) expect(csrRow(train, u).length).toBeGreaterThan(0);
    }
    expect(() => holdOutPositives(csr, 1, new Rng(1))).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});

describe('EarlyStopping', () => {
  it('stops after `patience` epochs without improvement and restores the best epoch', () => {
    const params = Float32Array.of(0);
    const stopper = new EarlyStopping({ patience: 2, ...typedArrayState([params]) });
    const metric = [0.6, 0.7, 0.65, Number.NaN, 0.9];
    const verdicts: string[] = [];
    for (let e = 0; e < metric.length && !stopper.shouldStop; e++) {
      params[0] = e;
      verdicts.push(stopper.observe(e, metric[e]!));
    }
    expect(verdicts).toEqual(['improved', 'improved', 'continue', 'stop']);
    expect(stopper.bestEpoch).toBe(1);
    expect(stopper.restoreBest()).toBe(true);
    expect(params[0]).toBe(1);
  });

  it('minimises in "min" mode and validates its options', () => {
    const s = new EarlyStopping({ patience: 1, mode: 'min', capture: () => 0, restore: () => {} });
    expect(s.observe(0, 0.5)).toBe('improved');
    expect(s.observe(1, 0.4)).toBe('improved');
    expect(s.observe(2, 0.45)).toBe('stop');
    expect(() => new EarlyStopping({ patience: 0, capture: () => 0, restore: () => {} })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});

describe('logLoss', () => {
  it('matches the definition and agrees between probabilities and logits', () => {
    expect(logLoss([0.8, 0.3], [1, 0])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7)) / 2, 10);
    const z = [2, -1, 40, -40];
    const y = [1, 0, 0, 1];
    const p = z.map((v) => 1 / (1 + Math.exp(-v)));
    expect(logLossFromLogits(z, y)).toBeCloseTo((Math.log1p(Math.exp(-2)) + Math.log1p(Math.exp(-1)) + 40 + 40) / 4, 6);
    expect(logLoss(p.slice(0, 2), y.slice(0, 2))).toBeCloseTo(logLossFromLogits(z.slice(0, 2), y.slice(0, 2)), 6);
  });
});

describe('buildCtrFeatures', () => {
  it('groups field:value columns into fields, one slot per one-hot field, shared weight for multi-valued ones', () => {
    const f = buildCtrFeatures(plantedCtrDataset(), 60, 40);
    expect(f.fields.map((x) => x.name)).toEqual(['user', 'age', 'gender', 'item', 'genre', 'year']);
    expect(f.userSlots).toBe(3);
    expect(f.itemSlots).toBe(4); // item id, two genre slots, year
    // the unknown user (row 60) is all padding
    expect(Array.from(f.userIndex.subarray(60 * 3, 61 * 3))).toEqual([f.nFeatures, f.nFeatures, f.nFeatures]);
    expect(Array.from(f.userValue.subarray(60 * 3, 61 * 3))).toEqual([0, 0, 0]);
    // an item with both genres splits the field's unit weight
    const d = plantedCtrDataset();
    const both = Array.from({ length: 40 }, (_, i) => i).find((i) => d.itemFeatures!.values[i * 2] === 1 && d.itemFeatures!.values[i * 2 + 1] === 1)!;
    expect(Array.from(f.itemValue.subarray(both * 4 + 1, both * 4 + 3))).toEqual([0.5, 0.5]);
    const { index } = pairSlots(f, Int32Array.of(-1, 2), Int32Array.of(0, 1));
    expect(index.length).toBe(2 * 7);
    expect(index[0]).toBe(f.nFeatures);
    expect(index[7]).toBe(2); // user 2's id feature
    expect(f.fields.find((x) => x.name === 'year')?.names).toContain('year:1995');
  });

  it('leaves side features out on request', () => {
    const f = buildCtrFeatures(plantedCtrDataset(), 60, 40, { sideFeatures: false });
    expect(f.fields.map((x) => x.name)).toEqual(['user', 'item']);
    expect(yearBucket(1975)).toBe('1970s');
    expect(yearBucket(1996)).toBe('1996');
  });
});

describe('fitPointwise', () => {
  /** Records what it is trained on; its "model" scores an item by how often it was a positive. */
  function countingLearner() {
    const seen: number[] = [];
    const pos = new Float32Array(30);
    return {
      seen,
      learner: {
        trainEpoch(p: { user: Int32Array; item: Int32Array; label: Float32Array }) {
          seen.push(p.user.length);
          p.item.forEach((i, k) => {
            if (p.label[k] === 1) pos[i]! += 1;
          });
          return 0.5;
        },
        scorePairs: (_u: Int32Array, items: Int32Array) => Float32Array.from(items, (i) => pos[i]!),
        capture: () => pos.slice(),
        restore: (s: Float32Array) => pos.set(s),
      },
    };
  }

  it('samples `negatives` per positive each epoch on implicit data, and holds out a validation part', async () => {
    const train = trainSetFromRows(randomRows(8, 40, 30, 0.2), 30);
    const { seen, learner } = countingLearner();
    const result = await fitPointwise('t', learner, train, { epochs: 3, negatives: 2, labels: 'auto', validation: 0.2, patience: 5, seed: 1 });
    expect(result.labels).toBe('implicit');
    expect(result.epochs).toBe(3);
    const nTrainPositives = seen[0]! / 3;
    expect(Number.isInteger(nTrainPositives)).toBe(true);
    expect(nTrainPositives).toBeLessThan(train.csr.indices.length);
    expect(nTrainPositives).toBeGreaterThan(0.7 * train.csr.indices.length);
    expect(result.history[0]!.validationAuc).toBeGreaterThan(0);
  });

  it('uses explicit labels when the train set holds non-positive interactions', async () => {
    const d = plantedCtrDataset();
    const train = trainSetOf(d, Int32Array.from({ length: d.interactions.user.length }, (_, r) => r), (v) => v >= 4);
    expect(hasExplicitNegatives(train)).toBe(true);
    const { seen, learner } = countingLearner();
    const result = await fitPointwise('t', learner, train, { epochs: 1, negatives: 4, labels: 'auto', validation: 0, patience: 1, seed: 1 });
    expect(result.labels).toBe('explicit');
    expect(seen[0]).toBe(d.interactions.user.length);
    expect(() => pointwiseOptions('t', { seed: 1, extra: { labels: 'sometimes' } }, 5)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});
