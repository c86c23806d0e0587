import { describe, expect, it } from 'vitest';
import { Rng } from '../engine/rng.js';
import { MfEnv } from './mf-env.js';
import { pmfPredict, trainPmf, type PmfFactors } from './pmf.js';

/** 2 users × 4 items; user 0 loves items 0–1, user 1 loves items 2–3 */
function factors(): PmfFactors {
  return {
    dim: 1,
    nUsers: 2,
    nItems: 4,
    globalMean: 3,
    userBias: new Float32Array([0, 0]),
    itemBias: new Float32Array([0, 0, 0, 0]),
    userFactors: new Float32Array([1, -1]),
    itemFactors: new Float32Array([3, 1.2, -1.2, -3]),
    rmse: [],
  };
}

describe('MfEnv', () => {
  it('rewards the clipped predicted rating and lets liked items into the state', () => {
    const env = new MfEnv(factors(), new Map([[0, Int32Array.of(1)]]), { stateSize: 2, maxSteps: 3 });
    expect(env.rating(0, 0)).toBe(5); // 3 + 3, clipped
    expect(env.rating(0, 3)).toBe(1); // 3 − 3 = 0, clipped
    const ep = env.reset(0);
    expect(Array.from(ep.state)).toEqual([-1, 1]);
    expect(ep.step(0)).toEqual({ reward: 1, positive: true, done: false });
    expect(Array.from(ep.state)).toEqual([1, 0]);
    const low = ep.step(2);
    expect(low.reward).toBeCloseTo((1.8 - 3) / 2, 5);
    expect(low.positive).toBe(false);
    // a repeat earns the penalty; the third step hits the cap
    expect(ep.step(0)).toEqual({ reward: -0.5, positive: false, done: true });
  });

  it('draws the same noisy rating for the same (seed, user, item), whatever came before', () => {
    const env = new MfEnv(factors(), new Map([[0, new Int32Array(0)]]), { noise: 0.5, seed: 3 });
    const a = env.rating(0, 1);
    env.rating(0, 2);
    expect(env.rating(0, 1)).toBe(a);
    const other = new MfEnv(factors(), new Map([[0, new Int32Array(0)]]), { noise: 0.5, seed: 4 });
    expect(other.rating(0, 1)).not.toBe(a);
    expect(new MfEnv(factors(), new Map([[0, new Int32Array(0)]])).rating(0, 1)).toBeCloseTo(3 + 1.2, 5);
  });

  it('ends when every item has been shown', () => {
    const ep = new MfEnv(factors(), new Map([[1, Int32Array.of(3)]]), { maxSteps: 100 }).reset(1);
    ep.step(0);
    ep.step(1);
    expect(ep.step(2).done).toBe(true);
  });

  it('rejects users without an initial state and negative noise', () => {
    const env = new MfEnv(factors(), new Map([[0, new Int32Array(0)]]));
    expect(() => env.reset(1)).toThrow(/initial state/);
    expect(() => new MfEnv(factors(), new Map(), { noise: -1 })).toThrow(/noise/);
    expect(() => new MfEnv(factors(), new Map([[5, new Int32Array(0)]]))).toThrow(/outside/);
  });
});

describe('trainPmf', () => {
  it('recovers a planted rank-2 rating matrix', () => {
    const rng = new Rng(5);
    const nU = 60;
    const nI = 40;
    const U = Array.from({ length: nU * 2 }, () => rng.normal());
    const V = Array.from({ length: nI * 2 }, () => rng.normal());
    const truth = (u: number, i: number) => 3 + 0.6 * (U[2 * u]! * V[2 * i]! + U[2 * u + 1]! * V[2 * i + 1]!);
    const user: number[] = [];
    const item: number[] = [];
    const value: number[] = [];
    const held: [number, number][] = [];
    for (let u = 0; u < nU; u++) {
      for (let i = 0; i < nI; i++) {
        if (rng.next() < 0.5) {
          user.push(u);
          item.push(i);
          value.push(truth(u, i));
        } else held.push([u, i]);
      }
    }
    const x = { user: Int32Array.from(user), item: Int32Array.from(item), value: Float32Array.from(value), timestamp: new Float64Array(user.length) };
    const f = trainPmf(x, nU, nI, { dim: 4, epochs: 60, learningRate: 0.02, l2: 0.01, initStd: 0.1, decay: 0.99 }, 1);
    expect(f.rmse.at(-1)!).toBeLessThan(f.rmse[0]! / 3);
    let se = 0;
    let seMean = 0;
    for (const [u, i] of held) {
      se += (pmfPredict(f, u, i) - truth(u, i)) ** 2;
      seMean += (f.globalMean - truth(u, i)) ** 2;
    }
    // held-out error well below predicting the mean
    expect(se).toBeLessThan(seMean / 4);
  });
});
