import { describe, expect, it } from 'vitest';
import { IdMap, type Csr, type Dataset } from '../../data/dataset.js';
import type { TrainSet } from '../types.js';
import { popularityModel } from './index.js';

/** A TrainSet whose user u interacted with the items rows[u] (tests only need the CSR). */
function trainSetOf(rows: number[][], nItems: number): TrainSet {
  const indptr = new Int32Array(rows.length + 1);
  const flat: number[] = [];
  rows.forEach((items, u) => {
    flat.push(...[...new Set(items)].sort((a, b) => a - b));
    indptr[u + 1] = flat.length;
  });
  const csr: Csr = { rows: rows.length, cols: nItems, indptr, indices: Int32Array.from(flat), values: new Float32Array(flat.length).fill(1) };
  const dataset: Dataset = {
    name: 'test',
    users: IdMap.from(rows.map((_, u) => `u${u}`)),
    items: IdMap.from(Array.from({ length: nItems }, (_, i) => `i${i}`)),
    interactions: { user: new Int32Array(0), item: new Int32Array(0), value: new Float32Array(0), timestamp: new Float64Array(0) },
  };
  return { dataset, csr };
}

const rows = [[0, 1, 2], [1, 2], [2], [2, 3], []];

describe('popularityModel', () => {
  it('scores items by the number of users who interacted with them, the same for everyone', async () => {
    const model = await popularityModel.fit(trainSetOf(rows, 5), { seed: 1 });
    expect(model.id).toBe('popularity');
    expect(model.info.backend).toBe('typed-arrays');
    expect([model.nUsers, model.nItems]).toEqual([5, 5]);
    const scores = await model.scoreBatch(Int32Array.from([0, -1, 4]), [new Int32Array(0), Int32Array.from([3]), new Int32Array(0)]);
    expect(scores.length).toBe(15);
    const expected = [1, 2, 4, 1, 0];
    for (let b = 0; b < 3; b++) expect(Array.from(scores.subarray(b * 5, b * 5 + 5))).toEqual(expected);
  });

  it('exports the same scores it serves', async () => {
    const model = await popularityModel.fit(trainSetOf(rows, 5), { seed: 1 });
    const spec = model.exportSpec();
    expect(spec.kind).toBe('popularity');
    if (spec.kind !== 'popularity') return;
    expect(Array.from(spec.scores)).toEqual(Array.from(await model.scoreBatch(Int32Array.from([-1]), [new Int32Array(0)])));
  });

  it('rejects malformed batches and use after dispose', async () => {
    const model = await popularityModel.fit(trainSetOf(rows, 5), { seed: 1 });
    await expect(model.scoreBatch(Int32Array.from([0, 1]), [new Int32Array(0)])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(model.scoreBatch(Int32Array.from([5]), [new Int32Array(0)])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    model.dispose();
    await expect(model.scoreBatch(Int32Array.from([0]), [new Int32Array(0)])).rejects.toMatchObject({ code: 'DISPOSED' });
  });
});
