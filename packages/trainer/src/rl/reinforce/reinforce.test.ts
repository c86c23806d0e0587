import type { ImpressionRecord, RecommendationRecord } from '@tastemaker/core';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { ArrayAdam } from '../../models/kgcn/array-adam.js';
import { positivesTrainSet } from '../../models/train-set.js';
import { syntheticDataset } from '../../synthetic/index.js';
import { STATE_PADDING } from '../env.js';
import { clippedImportanceWeight, discountedReturns, loggedStepsFromStore, reinforceModel, ReinforceModel, reinforceParams, REINFORCE_DEFAULTS, SoftmaxPolicy, topKCorrection, type LoggedStep } from './index.js';
import { logSimulator, popularityBehaviour } from './logged.js';
import { MfEnv } from '../mf-env.js';
import { trainPmf, PMF_DEFAULTS } from '../pmf.js';

describe('off-policy corrections', () => {
  it('computes λ_K = K·(1 − π)^(K−1)', () => {
    expect(topKCorrection(0.3, 1)).toBe(1);
    expect(topKCorrection(0.5, 3)).toBeCloseTo(0.75, 12);
    expect(topKCorrection(0, 10)).toBe(10);
    expect(topKCorrection(1, 10)).toBe(0);
    // λ_K·π is the derivative of the slate inclusion probability 1 − (1 − π)^K
    const pi = 0.2;
    const h = 1e-6;
    const incl = (p: number) => 1 - Math.pow(1 - p, 5);
    expect(topKCorrection(pi, 5)).toBeCloseTo((incl(pi + h) - incl(pi - h)) / (2 * h), 5);
    expect(() => topKCorrection(0.1, 0)).toThrow(/K ≥ 1/);
  });

  it('clips π/β at the cap and rejects impossible propensities', () => {
    expect(clippedImportanceWeight(0.2, 0.4, 10)).toBeCloseTo(0.5, 12);
    expect(clippedImportanceWeight(0.5, 0.01, 10)).toBe(10);
    expect(() => clippedImportanceWeight(0.5, 0, 10)).toThrow(/propensity/);
    expect(() => clippedImportanceWeight(0.5, 0.1, 0)).toThrow(/cap/);
  });

  it('discounts returns backwards', () => {
    expect(Array.from(discountedReturns([1, 0, 2], 0.5))).toEqual([1.5, 1, 2]);
  });
});

function steps(item: number, ret: number, propensity: number, n: number): LoggedStep[] {
  return Array.from({ length: n }, () => ({ user: 0, state: Int32Array.from([STATE_PADDING, 1, 2]), item, propensity, reward: ret, ret }));
}

describe('SoftmaxPolicy', () => {
  const rng = new Rng(3);
  const items = Float32Array.from({ length: 8 * 4 }, () => rng.normal() * 0.3);

  it('raises π of a rewarded logged item and lowers π of a punished one', () => {
    const policy = new SoftmaxPolicy({ embDim: 4, hidden: 8, learnedBeta: false }, items, new Rng(1));
    const state = Int32Array.from([STATE_PADDING, 1, 2]);
    const before = policy.probabilities(state);
    const adam = new ArrayAdam(policy.params, 0.02);
    const p = { ...REINFORCE_DEFAULTS, entropy: 0 };
    for (let k = 0; k < 30; k++) policy.trainBatch([...steps(5, 1, 0.125, 4), ...steps(6, -1, 0.125, 4)], p, 0, adam, undefined);
    const after = policy.probabilities(state);
    expect(after[5]!).toBeGreaterThan(before[5]! * 2);
    expect(after[6]!).toBeLessThan(before[6]!);
  });

  it('clips the importance weight of items the behaviour policy rarely showed', () => {
    const policy = new SoftmaxPolicy({ embDim: 4, hidden: 8, learnedBeta: false }, items, new Rng(1));
    const adam = new ArrayAdam(policy.params, 1e-3);
    const rare = policy.trainBatch(steps(5, 1, 1e-4, 4), { ...REINFORCE_DEFAULTS, weightCap: 3 }, 0, adam, undefined);
    expect(rare.clipped).toBe(1);
    expect(rare.meanWeight).toBe(3);
    const common = policy.trainBatch(steps(5, 1, 0.9, 4), { ...REINFORCE_DEFAULTS, weightCap: 3 }, 0, adam, undefined);
    expect(common.clipped).toBe(0);
    expect(common.meanWeight).toBeLessThan(1);
  });

  it('learns the behaviour policy with a learned β head', () => {
    const policy = new SoftmaxPolicy({ embDim: 4, hidden: 8, learnedBeta: true }, items, new Rng(1));
    const adam = new ArrayAdam(policy.params, 1e-3);
    const betaAdam = new ArrayAdam(policy.betaParams, 0.05);
    const first = policy.trainBatch(steps(3, 0, 0.5, 8), REINFORCE_DEFAULTS, 0, adam, betaAdam);
    let last = first;
    for (let k = 0; k < 40; k++) last = policy.trainBatch(steps(3, 0, 0.5, 8), REINFORCE_DEFAULTS, 0, adam, betaAdam);
    // β_θ(3|s) → 1, so π/β falls
    expect(last.meanWeight).toBeLessThan(first.meanWeight);
  });
});

describe('logged impressions', () => {
  it('logs a behaviour policy with exact propensities, reproducibly', () => {
    const data = syntheticDataset({ seed: 2, users: 30, items: 20, perUser: 12 });
    const pmf = trainPmf(data.interactions, 30, 20, { ...PMF_DEFAULTS, dim: 4, epochs: 5 }, 1);
    const env = new MfEnv(pmf, new Map([[0, Int32Array.from([1, 2])], [1, Int32Array.from([3])]]), { stateSize: 2, maxSteps: 5 });
    const weights = popularityBehaviour(Float64Array.from({ length: 20 }, (_, i) => i), 1);
    const a = logSimulator(env, env.users, weights, 0.5, new Rng(4));
    const b = logSimulator(env, env.users, weights, 0.5, new Rng(4));
    expect(a.map((s) => s.item)).toEqual(b.map((s) => s.item));
    expect(a).toHaveLength(10);
    // first step of user 0: items 1, 2 are seen, so β = (i + 1) / (Σ (j + 1) − 2 − 3)
    const first = a[0]!;
    expect(first.propensity).toBeCloseTo((first.item + 1) / (210 - 5), 10);
    expect(first.ret).toBeCloseTo(first.reward + 0.5 * a[1]!.ret, 5);
  });

  it('adapts the serving log: states from earlier liked impressions, returns over the next slates', () => {
    const rec = (id: string, at: number, userId: string): RecommendationRecord => ({ recommId: id, userId, model: 'm', policy: 'p', createdAt: at, items: [] });
    const imp = (recommId: string, itemId: string, position: number, propensity: number, reward: number | null): ImpressionRecord => ({
      recommId, itemId, position, score: 0, propensity, model: 'm', policy: 'p', createdAt: 0, trial: true, reward,
    });
    const items = new Map([['a', 0], ['b', 1], ['c', 2]]);
    const { steps: out, skipped } = loggedStepsFromStore(
      [
        { recommendation: rec('r2', 20, 'u'), impressions: [imp('r2', 'c', 0, 0.5, 1)] },
        { recommendation: rec('r1', 10, 'u'), impressions: [imp('r1', 'a', 0, 0.25, 1), imp('r1', 'b', 1, 0.25, null), imp('r1', 'zz', 2, 0.1, 1)] },
      ],
      items,
      { stateSize: 2, gamma: 0.5, userIndex: new Map([['u', 7]]) },
    );
    expect(skipped).toBe(1);
    expect(out.map((s) => s.item)).toEqual([0, 1, 2]);
    expect(out[0]!.user).toBe(7);
    expect(Array.from(out[0]!.state)).toEqual([STATE_PADDING, STATE_PADDING]);
    // the liked impression of r1 ('a') is in r2's state
    expect(Array.from(out[2]!.state)).toEqual([STATE_PADDING, 0]);
    expect(out[0]!.ret).toBeCloseTo(1 + 0.5 * 1, 12);
    expect(out[1]!.ret).toBeCloseTo(0 + 0.5 * 1, 12);
    expect(out[2]!.ret).toBe(1);
    expect(() => loggedStepsFromStore([{ recommendation: rec('r3', 1, 'u'), impressions: [imp('r3', 'a', 0, 0, 1)] }], items, { stateSize: 2, gamma: 0.5 })).toThrow(/propensity/);
  });
});

describe('reinforce', () => {
  const train = positivesTrainSet(syntheticDataset({ seed: 7, users: 60, items: 40, perUser: 20 }));
  const small = { stateSize: 4, hidden: 16, embeddingDim: 6, embeddingEpochs: 15, maxEpisodeSteps: 8, batchSize: 32, epochs: 3, curveUsers: 20, curvePoints: 4 };

  it('trains deterministically per seed and records a learning curve', async () => {
    const a = (await reinforceModel.fit(train, { seed: 5, extra: small })) as ReinforceModel;
    const b = (await reinforceModel.fit(train, { seed: 5, extra: small })) as ReinforceModel;
    const users = Int32Array.from([0, -1]);
    const hist = [new Int32Array(0), Int32Array.from([1, 2])];
    expect(Array.from(await a.scoreBatch(users, hist))).toEqual(Array.from(await b.scoreBatch(users, hist)));
    expect(a.learningCurve().points.length).toBeGreaterThanOrEqual(4);
    expect(a.log.loggedSteps).toBeGreaterThan(0);
    const learned = (await reinforceModel.fit(train, { seed: 5, extra: { ...small, beta: 'learned' } })) as ReinforceModel;
    expect(Array.from(await learned.scoreBatch(users, hist))).not.toEqual(Array.from(await a.scoreBatch(users, hist)));
  });

  it('rejects bad configuration with the valid values', () => {
    expect(() => reinforceParams({ seed: 1, extra: { beta: 'guess' } })).toThrow(/Valid: logged, learned/);
    expect(() => reinforceParams({ seed: 1, extra: { weightCap: 0 } })).toThrow(/weightCap/);
    expect(() => reinforceParams({ seed: 1, extra: { topK: 0 } })).toThrow(/topK/);
  });
});
