import { describe, expect, it } from 'vitest';
import { bytesToFloat64, float64ToBytes, identity, invert, matVec, shermanMorrisonUpdate } from './linear-algebra.js';
import { createRng, sampleNormal } from './rng.js';

describe('Sherman–Morrison', () => {
  it('matches the direct inverse of A + Σ x xᵀ after many rank-1 updates', () => {
    const rng = createRng(7);
    const d = 6;
    const a = identity(d, 2);
    const inverse = identity(d, 0.5);
    for (let t = 0; t < 200; t++) {
      const x = Float64Array.from({ length: d }, () => sampleNormal(rng));
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) a[i * d + j] = (a[i * d + j] as number) + (x[i] as number) * (x[j] as number);
      shermanMorrisonUpdate(inverse, d, x);
    }
    const direct = invert(a, d);
    for (let i = 0; i < d * d; i++) expect(inverse[i]).toBeCloseTo(direct[i] as number, 10);
    // and it is an inverse: A · A⁻¹ = I
    for (let j = 0; j < d; j++) {
      const column = Float64Array.from({ length: d }, (_, i) => inverse[i * d + j] as number);
      const product = matVec(a, d, column);
      for (let i = 0; i < d; i++) expect(product[i]).toBeCloseTo(i === j ? 1 : 0, 9);
    }
  });

  it('refuses a singular matrix and round-trips float64 bytes little-endian', () => {
    expect(() => invert(new Float64Array(4), 2)).toThrow(/singular/);
    const values = Float64Array.from([1.5, -0, Number.MAX_VALUE, 1e-300]);
    const bytes = float64ToBytes(values);
    expect(bytes[7]).toBe(0x3f); // 1.5 = 0x3FF8…, high byte last in little-endian
    expect(Array.from(bytesToFloat64(bytes))).toEqual(Array.from(values));
  });
});
