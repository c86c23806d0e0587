import { describe, expect, it } from 'vitest';
import { createRng } from './rng.js';
import { ThompsonSamplingPolicy } from './thompson-sampling.js';
import type { PolicyCandidate } from './types.js';

describe('ThompsonSamplingPolicy', () => {
  it('keeps Beta posterior counts: α + successes, β + failures', () => {
    const policy = new ThompsonSamplingPolicy({ alpha: 1, beta: 2 });
    expect(policy.posterior('x')).toEqual({ alpha: 1, beta: 2 });
    policy.update({ itemId: 'x', trial: 1, reward: 0 }); // impression
    policy.update({ itemId: 'x', trial: 0, reward: 1 }); // its click
    policy.update({ itemId: 'x', trial: 1, reward: 0 }); // a skip
    policy.update({ itemId: 'x', trial: 1, reward: 1 }); // a click without an impression event
    expect(policy.posterior('x')).toEqual({ alpha: 3, beta: 3 });
    // negative rewards cannot push a parameter below its prior
    policy.update({ itemId: 'y', trial: 1, reward: -1 });
    expect(policy.posterior('y')).toEqual({ alpha: 1, beta: 3 });
  });

  it('estimates propensities that match how often the policy really places each item', () => {
    const candidates: PolicyCandidate[] = ['a', 'b', 'c'].map((itemId) => ({ itemId, score: 0 }));
    const policy = new ThompsonSamplingPolicy({ rng: createRng(5), propensityDraws: 400 });
    for (let i = 0; i < 6; i++) policy.update({ itemId: 'a', trial: 1, reward: 1 });
    for (let i = 0; i < 3; i++) policy.update({ itemId: 'b', trial: 1, reward: i % 2 });
    let aFirst = 0;
    let aFirstPropensity = 0;
    const runs = 400;
    for (let i = 0; i < runs; i++) {
      const slate = policy.select(candidates, 2);
      for (const r of slate) expect(r.propensity > 0 && r.propensity <= 1).toBe(true);
      if (slate[0]?.itemId === 'a') {
        aFirst++;
        aFirstPropensity += slate[0].propensity;
      }
    }
    expect(aFirst / runs).toBeGreaterThan(0.6);
    expect(aFirstPropensity / aFirst).toBeCloseTo(aFirst / runs, 1);
  });

  it('estimates each position of a score-weighted slate as a brute-force simulation does, low-scored items included', () => {
    // Spread scores: with scoreWeight 1 the lowest items can never outrank the slate, so the policy
    // skips sampling them; the estimate must still be that of sampling everything.
    const scores = [5, 1, 0.9, 0.8, 0.7, 0.6, 0.5, -3, -3.5, -4, -5];
    const candidates: PolicyCandidate[] = scores.map((score, i) => ({ itemId: `i${i}`, score }));
    const policy = new ThompsonSamplingPolicy({ rng: createRng(21), scoreWeight: 1, propensityDraws: 20_000 });
    for (let i = 0; i < 4; i++) policy.update({ itemId: 'i2', trial: 1, reward: 1 });
    for (let i = 0; i < 3; i++) policy.update({ itemId: 'i5', trial: 1, reward: 0 });
    policy.update({ itemId: 'i8', trial: 1, reward: 1 });
    policy.update({ itemId: 'i8', trial: 1, reward: 0 });
    const slate = policy.select(candidates, 2);

    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    const sd = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
    const rng = createRng(99);
    const draw = (i: number) => {
      const { alpha, beta } = policy.posterior(`i${i}`);
      // Beta(a, b) as the a-th smallest of a + b − 1 uniforms (integer parameters here)
      const u = Array.from({ length: alpha + beta - 1 }, () => rng.next()).sort((x, y) => x - y);
      return (u[alpha - 1] as number) + ((scores[i] as number) - mean) / sd;
    };
    const placed = slate.map((r) => Number(r.itemId.slice(1)));
    const hits = new Array<number>(placed.length).fill(0);
    const runs = 20_000;
    for (let r = 0; r < runs; r++) {
      const values = scores.map((_, i) => draw(i));
      placed.forEach((item, j) => {
        const rivals = values.filter((_, i) => !placed.slice(0, j + 1).includes(i));
        if ((values[item] as number) > Math.max(...rivals)) hits[j] = (hits[j] as number) + 1;
      });
    }
    slate.forEach((r, j) => expect(Math.abs(r.propensity - (hits[j] as number) / runs)).toBeLessThan(0.02));
  });

  it('gives exact propensities where every posterior has a closed form and one draw decides', () => {
    // Two items without feedback and equal scores: the first position is a coin flip, and given the
    // other's draw u the placed item wins with probability 1 − u, whose mean over draws is ½.
    const two: PolicyCandidate[] = ['a', 'b'].map((itemId) => ({ itemId, score: 0 }));
    const slate = new ThompsonSamplingPolicy({ rng: createRng(3), propensityDraws: 4000 }).select(two, 2);
    expect(Math.abs((slate[0]?.propensity as number) - 0.5)).toBeLessThan(0.015);
    // The last item left always wins its position: 1 exactly, not a sampled estimate.
    expect(slate[1]?.propensity).toBe(1);
    // Shown three times, never clicked: Beta(1, 4) against a uniform. P(X > U) = E[(1 − U)^4] = 1/5.
    const policy = new ThompsonSamplingPolicy({ rng: createRng(4), propensityDraws: 4000 });
    for (let i = 0; i < 3; i++) policy.update({ itemId: 'b', trial: 1, reward: 0 });
    const forB = Array.from({ length: 200 }, () => policy.select(two, 1)[0]).find((r) => r?.itemId === 'b');
    expect(Math.abs((forB?.propensity as number) - 0.2)).toBeLessThan(0.015);
  });

  it('learns to rank a clicked item first and replays with a seed', () => {
    const candidates: PolicyCandidate[] = ['a', 'b', 'c', 'd'].map((itemId) => ({ itemId, score: 0 }));
    const policy = new ThompsonSamplingPolicy({ rng: createRng(9), propensityDraws: 0 });
    for (let i = 0; i < 50; i++) {
      policy.update({ itemId: 'c', trial: 1, reward: 1 });
      policy.update({ itemId: 'a', trial: 1, reward: 0 });
    }
    expect(policy.select(candidates, 1)[0]?.itemId).toBe('c');
    const one = new ThompsonSamplingPolicy({ rng: createRng(11) }).select(candidates, 4);
    const two = new ThompsonSamplingPolicy({ rng: createRng(11) }).select(candidates, 4);
    expect(one).toEqual(two);
  });

  it('round-trips its state', () => {
    const policy = new ThompsonSamplingPolicy();
    policy.update({ itemId: 'q', trial: 1, reward: 1 });
    const copy = new ThompsonSamplingPolicy();
    expect(copy.importState(policy.exportState()).loaded).toBe(1);
    expect(copy.posterior('q')).toEqual({ alpha: 2, beta: 1 });
  });
});
