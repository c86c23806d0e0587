import { describe, expect, it } from 'vitest';
import { dataPath, readDataset } from '../data/index.js';
import type { TrainedModel } from '../models/types.js';
import { evaluate } from './evaluate.js';
import { makeSplit, UNKNOWN_ITEM } from './protocols.js';

// Reads the shared ML-1M copy; fails (does not skip) when it is missing, so a broken data setup is
// never mistaken for a passing protocol.
describe('ncf-loo on ML-1M with the NCF authors\' test files', () => {
  it('maps all 2,999 test users of the partial ratings file, 100 candidates each (99 where NCF repeats the held-out item)', async () => {
    const dataset = await readDataset('movielens-1m', dataPath('ml-1m'));
    const split = await makeSplit(dataset, 'ncf-loo', { seed: 1 });
    expect(split.test.kind).toBe('ranking');
    if (split.test.kind !== 'ranking') return;
    const { users, relevant, candidates } = split.test;
    expect(users.length).toBe(2999);
    expect(candidates).toBeDefined();
    let unknown = 0;
    let short = 0;
    for (const c of candidates ?? []) {
      // 100 = the held-out item + 99 negatives, except where NCF's sample repeats the held-out item
      // (77 users), which NCF's evaluate.py ranks once
      expect(c.length === 100 || c.length === 99).toBe(true);
      expect(new Set(c.filter((i) => i !== UNKNOWN_ITEM)).size + c.filter((i) => i === UNKNOWN_ITEM).length).toBe(c.length);
      if (c.length === 99) short++;
      for (const i of c) if (i === UNKNOWN_ITEM) unknown++;
    }
    expect(short).toBe(77);
    // README: 289,175 of the 296,901 sampled negatives are items in the partial file
    expect(unknown).toBe(296_901 - 289_175);
    expect(relevant.every((r) => r.length === 1)).toBe(true);
    // NCF user 0 = UserID 1, held-out item 25 (first row of ml-1m.test.rating)
    expect(dataset.users.ids[users[0] as number]).toBe('1');
    expect(relevant[0]?.[0]).toBe(25);
    // train = everything but one held-out row per test user
    expect(split.train.dataset.interactions.user.length).toBe(487_650 - 2999);
    expect(split.notes.join(' ')).toMatch(/7726 of 296901/);

    // Sanity of the whole path with an item-popularity scorer (NCF reports ItemPop HR@10 ≈ 0.45 on
    // the full data): well above the 0.1 of a random ranker.
    const nItems = dataset.items.size;
    const pop = new Float32Array(nItems);
    for (const i of split.train.csr.indices) pop[i] = (pop[i] as number) + 1;
    const model: TrainedModel = {
      id: 'popularity',
      nUsers: dataset.users.size,
      nItems,
      info: { backend: 'typed-arrays', params: {} },
      async scoreBatch(batch) {
        const out = new Float32Array(batch.length * nItems);
        for (let b = 0; b < batch.length; b++) out.set(pop, b * nItems);
        return out;
      },
      exportSpec: () => ({ kind: 'popularity', scores: pop }),
      dispose() {},
    };
    const m = await evaluate(model, split);
    expect(m['hr@10']).toBeGreaterThan(0.3);
    expect(m['hr@10']).toBeLessThan(0.7);
    expect(m['ndcg@10']).toBeGreaterThan(0.15);
  });
});
