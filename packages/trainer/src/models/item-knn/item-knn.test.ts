import { describe, expect, it } from 'vitest';
import { cosineNeighbours, itemKnnModel, transposeNeighbours } from './index.js';
import { trainSetFromRows, randomRows } from '../test-fixtures.js';

/** Brute-force cosine between binary item columns, with shrinkage. */
function bruteCosine(rows: number[][], nItems: number, shrink: number): number[][] {
  const col = Array.from({ length: nItems }, (_, i) => rows.map((r) => (r.includes(i) ? 1 : 0)));
  return col.map((a, i) =>
    col.map((b, j) => {
      if (i === j) return 0;
      let dot = 0;
      let na = 0;
      let nb = 0;
      for (let u = 0; u < a.length; u++) {
        dot += a[u]! * b[u]!;
        na += a[u]!;
        nb += b[u]!;
      }
      return dot === 0 ? 0 : dot / (Math.sqrt(na * nb) + shrink);
    }),
  );
}

describe('cosineNeighbours', () => {
  it('gives similarity 1 to items with identical columns, and no self-similarity', () => {
    // items 0 and 1 are always taken together; item 2 by one of the same users
    const { csr } = trainSetFromRows([[0, 1, 2], [0, 1], [0, 1, 3], [3]], 4);
    const nb = cosineNeighbours(csr, 10, 0);
    const row0 = new Map(Array.from(nb.indices.subarray(nb.indptr[0]!, nb.indptr[1]!), (j, p) => [j, nb.values[nb.indptr[0]! + p]!]));
    expect(row0.get(1)).toBeCloseTo(1, 6);
    expect(row0.has(0)).toBe(false);
    expect(row0.get(2)).toBeCloseTo(1 / Math.sqrt(3), 6);
  });

  it('matches brute-force cosine with shrinkage and keeps the top `neighbors` per item', () => {
    const nItems = 12;
    const rows = randomRows(3, 40, nItems, 0.3);
    const { csr } = trainSetFromRows(rows, nItems);
    const shrink = 2;
    const brute = bruteCosine(rows, nItems, shrink);
    const k = 3;
    const nb = cosineNeighbours(csr, k, shrink);
    for (let i = 0; i < nItems; i++) {
      const kept = Array.from(nb.indices.subarray(nb.indptr[i]!, nb.indptr[i + 1]!));
      const values = Array.from(nb.values.subarray(nb.indptr[i]!, nb.indptr[i + 1]!));
      const expected = brute[i]!
        .map((s, j) => ({ s, j }))
        .filter(({ s, j }) => s > 0 && j !== i)
        .sort((a, b) => b.s - a.s || a.j - b.j)
        .slice(0, k);
      expect(kept).toEqual(expected.map((e) => e.j));
      values.forEach((v, p) => expect(v).toBeCloseTo(expected[p]!.s, 6));
    }
  });

  it('transposes neighbour rows exactly', () => {
    const { csr } = trainSetFromRows(randomRows(5, 30, 9, 0.35), 9);
    const rows = cosineNeighbours(csr, 2, 0);
    const back = transposeNeighbours(transposeNeighbours(rows));
    const dense = (r: typeof rows) => {
      const m = new Float32Array(81);
      for (let h = 0; h < 9; h++) for (let p = r.indptr[h]!; p < r.indptr[h + 1]!; p++) m[h * 9 + r.indices[p]!] = r.values[p]!;
      return Array.from(m);
    };
    expect(dense(back)).toEqual(dense(rows));
  });
});

describe('itemKnnModel', () => {
  const nItems = 10;
  const rows = randomRows(11, 50, nItems, 0.3);

  for (const prune of ['candidate', 'history'] as const) {
    it(`exports an [nItems, nItems] matrix whose history rows sum to the scores (prune ${prune})`, async () => {
      const train = trainSetFromRows(rows, nItems);
      const model = await itemKnnModel.fit(train, { seed: 1, neighbors: 3, extra: { prune } });
      expect(model.info).toMatchObject({ backend: 'typed-arrays', params: { neighbors: 3, prune } });
      const spec = model.exportSpec();
      if (spec.kind !== 'item-similarity') throw new Error(`unexpected export ${spec.kind}`);
      expect(spec.nItems).toBe(nItems);
      expect(spec.matrix.length).toBe(nItems * nItems);
      const brute = bruteCosine(rows, nItems, 0);
      for (let h = 0; h < nItems; h++) {
        expect(spec.matrix[h * nItems + h]).toBe(0);
        let kept = 0;
        for (let j = 0; j < nItems; j++) {
          const v = spec.matrix[h * nItems + j]!;
          if (v !== 0) {
            kept++;
            expect(v).toBeCloseTo(brute[h]![j]!, 6);
          }
        }
        // 'history' keeps ≤ 3 per row; 'candidate' keeps ≤ 3 per column
        if (prune === 'history') expect(kept).toBeLessThanOrEqual(3);
      }
      if (prune === 'candidate') {
        for (let j = 0; j < nItems; j++) {
          let kept = 0;
          for (let h = 0; h < nItems; h++) if (spec.matrix[h * nItems + j] !== 0) kept++;
          expect(kept).toBeLessThanOrEqual(3);
        }
      }

      const history = Int32Array.from([1, 4, 7]);
      const user = 2;
      const trainRow = train.csr.indices.subarray(train.csr.indptr[user]!, train.csr.indptr[user + 1]!);
      const scores = await model.scoreBatch(Int32Array.from([-1, user, user]), [history, new Int32Array(0), history]);
      const expectRow = (items: Int32Array, b: number) => {
        for (let j = 0; j < nItems; j++) {
          let s = 0;
          for (const h of items) s += spec.matrix[h * nItems + j]!;
          expect(scores[b * nItems + j]).toBeCloseTo(s, 5);
        }
      };
      expectRow(history, 0); // unknown user: the given history
      expectRow(trainRow, 1); // known user, no history given: the training items
      expectRow(history, 2); // known user with a history: that history
    });
  }

  it('rejects invalid options with the valid values', async () => {
    const train = trainSetFromRows(rows, nItems);
    await expect(itemKnnModel.fit(train, { seed: 1, extra: { prune: 'both' } })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(itemKnnModel.fit(train, { seed: 1, neighbors: 0 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(itemKnnModel.fit(train, { seed: 1, extra: { shrink: -1 } })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
