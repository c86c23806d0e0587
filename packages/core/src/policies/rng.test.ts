import { describe, expect, it } from 'vitest';
import { createRng, sampleBeta, sampleGamma } from './rng.js';

describe('rng', () => {
  it('replays a seed and stays in [0, 1)', () => {
    const a = createRng(42);
    const b = createRng(42);
    for (let i = 0; i < 1000; i++) {
      const x = a.next();
      expect(x).toBe(b.next());
      expect(x >= 0 && x < 1).toBe(true);
    }
  });

  it('samples Gamma and Beta with the right means', () => {
    const rng = createRng(1);
    const n = 20000;
    for (const shape of [0.5, 1, 3, 3.5, 12]) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += sampleGamma(rng, shape);
      expect(sum / n / shape).toBeCloseTo(1, 1);
    }
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sampleBeta(rng, 2, 6);
    expect(sum / n).toBeCloseTo(0.25, 2);
    let uniform = 0;
    for (let i = 0; i < n; i++) uniform += sampleBeta(rng, 1, 1);
    expect(uniform / n).toBeCloseTo(0.5, 2);
    // The closed forms for one parameter at 1: mean a / (a + b), variance ab / ((a + b)² (a + b + 1)).
    for (const [a, b] of [
      [1, 4],
      [5, 1],
      [1, 0.5],
    ] as const) {
      let s1 = 0;
      let s2 = 0;
      for (let i = 0; i < n; i++) {
        const x = sampleBeta(rng, a, b);
        expect(x >= 0 && x <= 1).toBe(true);
        s1 += x;
        s2 += x * x;
      }
      const mean = s1 / n;
      expect(mean).toBeCloseTo(a / (a + b), 2);
      expect(s2 / n - mean * mean).toBeCloseTo((a * b) / ((a + b) ** 2 * (a + b + 1)), 2);
    }
    expect(() => sampleGamma(rng, 0)).toThrow(RangeError);
  });
});
