import { describe, expect, it } from 'vitest';
import { EmbeddingTable, RowGradientAccumulator, SparseAdagrad, SparseAdam } from './embedding-table.js';
import { Rng } from './rng.js';

/** A 3x2 table with known values. */
function table(): EmbeddingTable {
  return new EmbeddingTable(3, 2, Float32Array.from([1, 2, 3, 4, 5, 6]));
}

describe('EmbeddingTable', () => {
  it('initialises from the seed, reproducibly', () => {
    const a = new EmbeddingTable(50, 8, new Rng(1), { kind: 'normal', std: 0.1 });
    const b = new EmbeddingTable(50, 8, new Rng(1), { kind: 'normal', std: 0.1 });
    const c = new EmbeddingTable(50, 8, new Rng(2), { kind: 'normal', std: 0.1 });
    expect(a.values).toEqual(b.values);
    expect(a.values).not.toEqual(c.values);
    const sd = Math.sqrt(a.values.reduce((s, v) => s + v * v, 0) / a.values.length);
    expect(sd).toBeGreaterThan(0.08);
    expect(sd).toBeLessThan(0.12);
    const x = new EmbeddingTable(10, 20, new Rng(1), { kind: 'xavier' });
    const limit = Math.sqrt(6 / 30);
    expect(x.values.every((v) => Math.abs(v) <= limit)).toBe(true);
  });

  it('gathers rows, with zeros for out-of-range indices', () => {
    const t = table();
    expect(Array.from(t.gather(Int32Array.from([2, 0, -1, 2, 3])))).toEqual([5, 6, 1, 2, 0, 0, 5, 6, 0, 0]);
  });
});

describe('RowGradientAccumulator', () => {
  it('sums duplicates into one row each, in first-touched order, and clears', () => {
    const acc = new RowGradientAccumulator(4, 2);
    acc.addRows(Int32Array.from([3, 1, 3, -1]), Float32Array.from([1, 1, 2, 2, 10, 20, 7, 7]));
    acc.add(1, [5, 5], 0, -1);
    const v = acc.view();
    expect(Array.from(v.indices)).toEqual([3, 1]);
    expect(Array.from(v.grads)).toEqual([11, 21, -3, -3]);
    acc.clear();
    expect(acc.view().indices.length).toBe(0);
    acc.add(0, [1, 1]);
    expect(Array.from(acc.view().grads)).toEqual([1, 1]);
  });
});

describe('SparseAdam', () => {
  it('matches a hand computation, accumulating duplicates and bias-correcting per row', () => {
    const t = table();
    const opt = new SparseAdam(t, { learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    // Row 0 appears twice: its gradient is the sum (0.5 + 1.5, -1 + 1) = (2, 0).
    opt.update(Int32Array.from([0, 0]), Float32Array.from([0.5, -1, 1.5, 1]));
    // Step 1, t=1: m = 0.1 g, v = 0.001 g², m̂ = g, v̂ = g², update = lr * g / (|g| + eps).
    expect(t.values[0]).toBeCloseTo(1 - 0.1, 6);
    expect(t.values[1]).toBeCloseTo(2, 6); // zero gradient: no move
    expect(Array.from(t.values.subarray(2))).toEqual([3, 4, 5, 6]); // untouched rows
    expect(Array.from(opt.steps)).toEqual([1, 0, 0]);

    // Row 2's first update is a full-size step (its own t=1), though row 0 is already at t=2.
    opt.update(Int32Array.from([2, 0]), Float32Array.from([3, -3, 1, 0]));
    expect(t.values[4]).toBeCloseTo(5 - 0.1, 6);
    expect(t.values[5]).toBeCloseTo(6 + 0.1, 6);
    // Row 0 at t=2 with g = (1, 0): m = 0.9*0.2 + 0.1*1 = 0.28, v = 0.999*0.004 + 0.001*1 = 0.004996,
    // m̂ = 0.28 / 0.19, v̂ = 0.004996 / 0.001999.
    const mHat = 0.28 / (1 - 0.9 ** 2);
    const vHat = 0.004996 / (1 - 0.999 ** 2);
    expect(t.values[0]).toBeCloseTo(0.9 - (0.1 * mHat) / (Math.sqrt(vHat) + 1e-8), 5);
    expect(Array.from(opt.steps)).toEqual([2, 0, 1]);
  });

  it('applies L2 only to touched rows', () => {
    const t = table();
    const opt = new SparseAdam(t, { learningRate: 0.1, l2: 0.5 });
    opt.update(Int32Array.from([1]), Float32Array.from([0, 0]));
    // g = l2 * w = (1.5, 2) > 0, so a full lr step down on both; rows 0 and 2 untouched.
    expect(t.values[2]).toBeCloseTo(2.9, 6);
    expect(t.values[3]).toBeCloseTo(3.9, 6);
    expect(Array.from(t.values.subarray(0, 2))).toEqual([1, 2]);
    expect(Array.from(t.values.subarray(4))).toEqual([5, 6]);
  });
});

describe('SparseAdagrad', () => {
  it('matches a hand computation with duplicates and L2', () => {
    const t = table();
    const opt = new SparseAdagrad(t, { learningRate: 0.5, initialAccumulator: 0.1, epsilon: 0, l2: 0.1 });
    opt.update(Int32Array.from([2, 2, 1]), Float32Array.from([1, 0, 1, 2, 0, 0]));
    // Row 2: g = (2, 2) + 0.1 * (5, 6) = (2.5, 2.6); acc = 0.1 + g²; w -= 0.5 g / sqrt(acc).
    expect(t.values[4]).toBeCloseTo(5 - (0.5 * 2.5) / Math.sqrt(0.1 + 6.25), 6);
    expect(t.values[5]).toBeCloseTo(6 - (0.5 * 2.6) / Math.sqrt(0.1 + 6.76), 6);
    // Row 1: only L2, g = (0.3, 0.4).
    expect(t.values[2]).toBeCloseTo(3 - (0.5 * 0.3) / Math.sqrt(0.1 + 0.09), 6);
    expect(Array.from(t.values.subarray(0, 2))).toEqual([1, 2]);
    // A second step accumulates squares.
    const acc2 = 0.1 + 6.25;
    const w4 = t.values[4] as number;
    opt.update(Int32Array.from([2]), Float32Array.from([1, 0]));
    const g = 1 + 0.1 * w4;
    expect(t.values[4]).toBeCloseTo(w4 - (0.5 * g) / Math.sqrt(acc2 + g * g), 6);
  });
});
