import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { easeModel, easeWeights, lowerGram } from './index.js';
import { invertSpd } from './spd-inverse.js';
import { trainSetFromRows, randomRows } from '../test-fixtures.js';

/** Textbook Gauss–Jordan with partial pivoting, the reference for the Cholesky-based inverse. */
function bruteInverse(a: number[][]): number[][] {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[pivot]![c]!)) pivot = r;
    [m[c], m[pivot]] = [m[pivot]!, m[c]!];
    const p = m[c]![c]!;
    for (let k = 0; k < 2 * n; k++) m[c]![k] = m[c]![k]! / p;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]!;
      for (let k = 0; k < 2 * n; k++) m[r]![k] = m[r]![k]! - f * m[c]![k]!;
    }
  }
  return m.map((row) => row.slice(n));
}

function randomSpd(n: number, seed: number): number[][] {
  const rng = new Rng(seed);
  const x = Array.from({ length: n + 3 }, () => Array.from({ length: n }, () => rng.normal()));
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => x.reduce((s, row) => s + row[i]! * row[j]!, 0) + (i === j ? 0.5 : 0)),
  );
}

describe('invertSpd', () => {
  // sizes around the 3×3 tiles (remainders 0–2) and the 48-column blocks
  for (const n of [1, 2, 3, 4, 5, 8, 13, 47, 50, 97]) {
    it(`matches a brute-force inverse (n = ${n})`, () => {
      const a = randomSpd(n, n);
      const packed = new Float64Array(n * n);
      // only the lower triangle is read: poison the upper one to prove it
      a.forEach((row, i) => row.forEach((v, j) => (packed[i * n + j] = j <= i ? v : Number.NaN)));
      const inv = invertSpd(packed, n);
      const ref = bruteInverse(a);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(inv[i * n + j]).toBeCloseTo(ref[i]![j]!, 8);
    });
  }

  it('inverts a matrix larger than its cache panels (A·A⁻¹ = I, n = 301)', () => {
    const n = 301;
    const rng = new Rng(5);
    // sparse binary co-occurrence plus a ridge, like EASE's XᵀX + λI
    const a = new Float64Array(n * n);
    for (let u = 0; u < 400; u++) {
      const items = Array.from({ length: 12 }, () => Math.floor(rng.next() ** 2 * n));
      for (const x of items) for (const y of items) a[x * n + y] = a[x * n + y]! + 1;
    }
    for (let i = 0; i < n; i++) a[i * n + i] = a[i * n + i]! + 5;
    const inv = invertSpd(a.slice(), n);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += a[i * n + k]! * inv[k * n + j]!;
        worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
      }
      for (let j = 0; j < i; j++) expect(inv[i * n + j]).toBe(inv[j * n + i]);
    }
    expect(worst).toBeLessThan(1e-10);
  });

  it('refuses a matrix that is not positive definite', () => {
    const a = Float64Array.from([1, 2, 2, 1]);
    expect(() => invertSpd(a, 2)).toThrowError(/not positive definite/);
  });
});

describe('easeWeights', () => {
  const nItems = 9;
  const rows = randomRows(7, 40, nItems, 0.35);
  const { csr } = trainSetFromRows(rows, nItems);
  const lambda = 3;

  it('solves the EASE closed form: B = I − P·diag(1/diag P), P = (XᵀX + λI)⁻¹', () => {
    const lower = lowerGram(csr);
    const g = Array.from({ length: nItems }, (_, i) => Array.from({ length: nItems }, (_, j) => lower[Math.max(i, j) * nItems + Math.min(i, j)]!));
    // the gram matrix counts co-occurrences
    expect(g[0]![0]).toBe(rows.filter((r) => r.includes(0)).length);
    const p = bruteInverse(g.map((row, i) => row.map((v, j) => v + (i === j ? lambda : 0))));
    const b = easeWeights(csr, lambda);
    for (let i = 0; i < nItems; i++) {
      expect(b[i * nItems + i]).toBe(0);
      for (let j = 0; j < nItems; j++) {
        if (i !== j) expect(b[i * nItems + j]).toBeCloseTo(-p[i]![j]! / p[j]![j]!, 5);
      }
    }
    // Steck's optimality condition: (XᵀX + λI)·B equals XᵀX off the diagonal
    for (let i = 0; i < nItems; i++) {
      for (let j = 0; j < nItems; j++) {
        if (i === j) continue;
        let s = 0;
        for (let k = 0; k < nItems; k++) s += (g[i]![k]! + (i === k ? lambda : 0)) * b[k * nItems + j]!;
        expect(s).toBeCloseTo(g[i]![j]!, 4);
      }
    }
  });
});

describe('easeModel', () => {
  const nItems = 8;
  const rows = randomRows(9, 30, nItems, 0.4);

  it('exports B and scores any history as the sum of its rows', async () => {
    const train = trainSetFromRows(rows, nItems);
    const progress: string[] = [];
    const model = await easeModel.fit(train, {
      seed: 1,
      l2: 2,
      progress: { start: (label) => progress.push(`start ${label}`), update: () => {}, stop: () => progress.push('stop') },
    });
    expect(progress[0]).toMatch(/^start ease/);
    expect(progress.at(-1)).toBe('stop');
    expect(model.info).toEqual({ backend: 'typed-arrays', params: { l2: 2 } });
    const spec = model.exportSpec();
    if (spec.kind !== 'item-similarity') throw new Error(`unexpected export ${spec.kind}`);
    expect(spec.nItems).toBe(nItems);
    expect(Array.from(spec.matrix)).toEqual(Array.from(easeWeights(train.csr, 2)));

    const history = Int32Array.from([0, 3, 3]);
    const user = 4;
    const trainRow = train.csr.indices.subarray(train.csr.indptr[user]!, train.csr.indptr[user + 1]!);
    const scores = await model.scoreBatch(Int32Array.from([-1, user, -1]), [history, new Int32Array(0), new Int32Array(0)]);
    const expectRow = (items: Int32Array, b: number) => {
      for (let j = 0; j < nItems; j++) {
        let s = 0;
        for (const h of items) s += spec.matrix[h * nItems + j]!;
        expect(scores[b * nItems + j]).toBeCloseTo(s, 5);
      }
    };
    expectRow(history, 0);
    expectRow(trainRow, 1);
    expectRow(new Int32Array(0), 2);
  });

  it('rejects a non-positive λ and bad batches', async () => {
    const train = trainSetFromRows(rows, nItems);
    await expect(easeModel.fit(train, { seed: 1, l2: 0 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(easeModel.fit(train, { seed: 1, extra: { maxItems: nItems - 1 } })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    const model = await easeModel.fit(train, { seed: 1 });
    await expect(model.scoreBatch(Int32Array.from([-1]), [Int32Array.from([nItems])])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
