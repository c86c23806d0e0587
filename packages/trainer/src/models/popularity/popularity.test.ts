import { describe, expect, it } from 'vitest';
import { popularityModel } from './index.js';
import { trainSetFromRows } from '../test-fixtures.js';

const rows = [[0, 1, 2], [1, 2], [2], [2, 3], []];

describe('popularityModel', () => {
  it('scores items by the number of users who interacted with them, the same for everyone', async () => {
    const model = await popularityModel.fit(trainSetFromRows(rows, 5), { seed: 1 });
    expect(model.id).toBe('popularity');
    expect(model.info.backend).toBe('typed-arrays');
    expect([model.nUsers, model.nItems]).toEqual([5, 5]);
    const scores = await model.scoreBatch(Int32Array.from([0, -1, 4]), [new Int32Array(0), Int32Array.from([3]), new Int32Array(0)]);
    expect(scores.length).toBe(15);
    const expected = [1, 2, 4, 1, 0];
    for (let b = 0; b < 3; b++) expect(Array.from(scores.subarray(b * 5, b * 5 + 5))).toEqual(expected);
  });

  it('exports the same scores it serves', async () => {
    const model = await popularityModel.fit(trainSetFromRows(rows, 5), { seed: 1 });
    const spec = model.exportSpec();
    expect(spec.kind).toBe('popularity');
    if (spec.kind !== 'popularity') return;
    expect(Array.from(spec.scores)).toEqual(Array.from(await model.scoreBatch(Int32Array.from([-1]), [new Int32Array(0)])));
  });

  it('rejects malformed batches and use after dispose', async () => {
    const model = await popularityModel.fit(trainSetFromRows(rows, 5), { seed: 1 });
    await expect(model.scoreBatch(Int32Array.from([0, 1]), [new Int32Array(0)])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(model.scoreBatch(Int32Array.from([5]), [new Int32Array(0)])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    model.dispose();
    await expect(model.scoreBatch(Int32Array.from([0]), [new Int32Array(0)])).rejects.toMatchObject({ code: 'DISPOSED' });
  });
});
