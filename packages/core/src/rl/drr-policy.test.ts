import { describe, expect, it } from 'vitest';
import { createPolicy } from '../policies/create-policy.js';
import { createRng } from '../policies/rng.js';
import { drrLayout, type DrrShape } from './drr-network.js';
import { DrrPolicy, type DrrModelData } from './drr-policy.js';
import { encodeDrrWeights } from './drr-weights.js';

function randomArray(n: number, seed: number, scale = 0.5): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
}

const shape: DrrShape = { kind: 'drr-ave', stateSize: 3, dim: 4, actorHidden: 6, criticHidden: 6, skip: true };
const nItems = 10;
const itemIds = Array.from({ length: nItems }, (_, i) => `i${i}`);

function model(): DrrModelData {
  return {
    weights: { shape, params: randomArray(drrLayout(shape).total, 1), users: { rows: 2, values: randomArray(8, 2, 1) } },
    itemIds,
    itemVectors: randomArray(nItems * 4, 3, 1),
    userIds: ['u0', 'u1'],
    // u0 liked i1, i2 in training; u1 nothing
    history: { indptr: Uint32Array.of(0, 2, 2), indices: Uint32Array.of(1, 2) },
  };
}

const candidates = itemIds.map((itemId) => ({ itemId, score: 0 }));

describe('DrrPolicy', () => {
  it('builds the state from training positives then live history, keeping the last N', () => {
    const p = new DrrPolicy(model(), { epsilon: 0 });
    expect(Array.from(p.stateFeatures({ userId: 'u0', history: [] }))).toEqual([0, -1, 1, 2]);
    expect(Array.from(p.stateFeatures({ userId: 'u0', history: ['i7', 'nope', 'i8'] }))).toEqual([0, 2, 7, 8]);
    expect(Array.from(p.stateFeatures({ userId: 'stranger', history: ['i4'] }))).toEqual([-1, -1, -1, 4]);
  });

  it('ranks candidates by action · item greedily, and explores with exact propensities', () => {
    const m = model();
    const greedy = new DrrPolicy(m, { epsilon: 0 });
    const features = greedy.stateFeatures({ userId: 'u0', history: [] });
    const a = greedy.action(features);
    const score = (i: number) => [0, 1, 2, 3].reduce((s, j) => s + a[j]! * m.itemVectors[i * 4 + j]!, 0);
    const expected = itemIds.map((_, i) => i).sort((x, y) => score(y) - score(x)).slice(0, 4).map((i) => `i${i}`);
    const slate = greedy.select(candidates, 4, { userFeatures: features });
    expect(slate.map((s) => s.itemId)).toEqual(expected);
    expect(slate.every((s) => s.propensity === 1)).toBe(true);
    const exploring = new DrrPolicy(m, { epsilon: 0.5, rng: createRng(9) });
    for (const s of exploring.select(candidates, 4, { userFeatures: features })) {
      // ε/m for a random pick, plus 1 − ε when it is also the greedy choice
      expect([0.5 / (10 - s.position), 0.5 / (10 - s.position) + 0.5].some((p) => Math.abs(p - s.propensity) < 1e-12)).toBe(true);
    }
  });

  it('learns from feedback, persists its weights, and a fresh policy restores them', () => {
    const m = model();
    const p = createPolicy({ kind: 'drr', model: m, epsilon: 0, learner: { batchSize: 2 } }) as DrrPolicy;
    const features = p.stateFeatures({ userId: 'u0', history: [] });
    const before = Array.from(p.action(features));
    // update only queues: nothing stored changes with the event, the update runs in the background
    expect(p.update({ itemId: 'i5', trial: 1, reward: 1, userFeatures: features })).toEqual([]);
    expect(p.update({ itemId: 'i6', trial: 1, reward: 0, userFeatures: features })).toEqual([]);
    expect(p.background?.stats()).toEqual({ pending: 1, updates: 0, dropped: 0 });
    expect(Array.from(p.action(features))).toEqual(before);
    // a click after its impression adds to that transition, without a new one
    expect(p.update({ itemId: 'i6', trial: 0, reward: 1, userFeatures: features })).toEqual([]);
    expect(p.learner.replaySize).toBe(2);
    expect(p.update({ itemId: 'unknown', trial: 1, reward: 1, userFeatures: features })).toEqual([]);
    expect(p.update({ itemId: 'i5', trial: 1, reward: 1 })).toEqual([]);
    expect(p.background?.work(Number.POSITIVE_INFINITY)).toBe(1);
    expect(p.background?.stats()).toEqual({ pending: 0, updates: 1, dropped: 0 });
    const after = Array.from(p.action(features));
    expect(after).not.toEqual(before);

    const state = p.exportState(['weights']);
    const fresh = new DrrPolicy(m, { epsilon: 0 });
    expect(fresh.importState(state)).toEqual({ loaded: 1 });
    expect(Array.from(fresh.action(features))).toEqual(after);
    expect(fresh.learner.updates).toBe(p.learner.updates);

    const other = new DrrPolicy({ ...m, weights: { ...m.weights, shape: { ...shape, actorHidden: 5 }, params: randomArray(drrLayout({ ...shape, actorHidden: 5 }).total, 4) } });
    expect(other.importState(state).skipped).toMatch(/shape/);
    expect(fresh.importState([['weights', { blob: encodeDrrWeights({ shape, params: randomArray(drrLayout(shape).total, 8) }) }]])).toEqual({ loaded: 1 });
  });

  it('learn: false serves the weights as they are', () => {
    const p = new DrrPolicy(model(), { learn: false, learner: { batchSize: 1 } });
    const features = p.stateFeatures({ userId: 'u1', history: ['i3'] });
    expect(p.update({ itemId: 'i5', trial: 1, reward: 1, userFeatures: features })).toEqual([]);
    expect(p.learner.updates).toBe(0);
    expect(p.learner.pending).toBe(0);
    expect(p.background).toBeUndefined();
  });

  it('rejects bad options with the valid range', () => {
    expect(() => new DrrPolicy(model(), { epsilon: 2 })).toThrow(/epsilon.*\[0, 1\]/);
    expect(() => new DrrPolicy(model(), { learner: { actorLr: -1 } })).toThrow(/learner.actorLr/);
  });
});
