import { describe, expect, it } from 'vitest';
import { IdMap, type Dataset } from '../data/dataset.js';
import { Rng } from '../engine/rng.js';
import { makeSplit } from './protocols.js';

function ratings(seed: number): Dataset {
  const rng = new Rng(seed);
  const user: number[] = [];
  const item: number[] = [];
  const value: number[] = [];
  for (let u = 0; u < 30; u++) {
    const n = 5 + rng.int(20);
    const items = Array.from({ length: 50 }, (_, i) => i);
    rng.shuffle(items);
    for (let k = 0; k < n; k++) {
      user.push(u);
      item.push(items[k]!);
      value.push(1 + rng.int(5));
    }
  }
  return {
    name: 't',
    users: IdMap.from(Array.from({ length: 30 }, (_, u) => `u${u}`)),
    items: IdMap.from(Array.from({ length: 50 }, (_, i) => `i${i}`)),
    interactions: { user: Int32Array.from(user), item: Int32Array.from(item), value: Float32Array.from(value), timestamp: new Float64Array(user.length) },
  };
}

describe('ctr-auc protocol', () => {
  it('splits every user 80/20, labels rating ≥ 4 positive, keeps train negatives out of the CSR', async () => {
    const data = ratings(1);
    const split = await makeSplit(data, 'ctr-auc', { seed: 42 });
    expect(split.test.kind).toBe('pairs');
    if (split.test.kind !== 'pairs') return;
    const train = split.train.dataset.interactions;
    expect(train.user.length + split.test.user.length).toBe(data.interactions.user.length);
    for (let u = 0; u < 30; u++) {
      const nAll = data.interactions.user.filter((x) => x === u).length;
      const nTest = split.test.user.filter((x) => x === u).length;
      expect(nTest).toBe(Math.round(0.2 * nAll));
      expect(nAll - nTest).toBeGreaterThan(0);
    }
    // labels follow the rating
    const key = (u: number, i: number) => u * 1000 + i;
    const rating = new Map<number, number>();
    data.interactions.user.forEach((u, r) => rating.set(key(u, data.interactions.item[r]!), data.interactions.value[r]!));
    split.test.user.forEach((u, j) => expect(split.test.kind === 'pairs' && split.test.label[j]).toBe(rating.get(key(u, (split.test as { item: Int32Array }).item[j]!))! >= 4 ? 1 : 0));
    // the CSR holds exactly the train ratings ≥ 4
    expect(split.train.csr.indices.length).toBe(Array.from(train.value).filter((v) => v >= 4).length);
    // seeded
    const again = await makeSplit(data, 'ctr-auc', { seed: 42 });
    expect(again.test).toEqual(split.test);
  });

  it('refuses implicit data with a typed error', async () => {
    const data = ratings(2);
    data.interactions.value.fill(1);
    await expect(makeSplit(data, 'ctr-auc', { seed: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
