import { describe, expect, it } from 'vitest';
import { EpsilonGreedyPolicy } from './epsilon-greedy.js';
import { createRng } from './rng.js';
import type { PolicyCandidate } from './types.js';

const candidates: PolicyCandidate[] = [
  { itemId: 'a', score: 0.9 },
  { itemId: 'b', score: 0.5 },
  { itemId: 'c', score: 0.7 },
  { itemId: 'd', score: 0.1 },
];

function orderedSlates(ids: string[], k: number): string[][] {
  if (k === 0) return [[]];
  return ids.flatMap((id) => orderedSlates(ids.filter((x) => x !== id), k - 1).map((rest) => [id, ...rest]));
}

describe('EpsilonGreedyPolicy', () => {
  it('gives slate probabilities that sum to 1 over every ordered slate', () => {
    const policy = new EpsilonGreedyPolicy({ epsilon: 0.3, rng: createRng(1) });
    policy.update({ itemId: 'd', trial: 1, reward: 1 });
    policy.update({ itemId: 'a', trial: 1, reward: 0 });
    for (const k of [1, 2, 3, 4]) {
      const slates = orderedSlates(candidates.map((c) => c.itemId), k);
      const total = slates.reduce((sum, s) => sum + policy.slatePropensities(candidates, s).reduce((p, x) => p * x, 1), 0);
      expect(total).toBeCloseTo(1, 12);
    }
  });

  it('gives per-position propensities that sum to 1 over the candidates left', () => {
    const policy = new EpsilonGreedyPolicy({ epsilon: 0.2, rng: createRng(1) });
    const ids = candidates.map((c) => c.itemId);
    for (const first of ids) {
      const rest = ids.filter((x) => x !== first);
      const sum = rest.reduce((s, second) => s + (policy.slatePropensities(candidates, [first, second])[1] as number), 0);
      expect(sum).toBeCloseTo(1, 12);
    }
  });

  it('reports the propensity it actually samples with', () => {
    const policy = new EpsilonGreedyPolicy({ epsilon: 0.4, rng: createRng(3) });
    const runs = 20000;
    let topIsA = 0;
    let reported = 0;
    for (let i = 0; i < runs; i++) {
      const [first] = policy.select(candidates, 2);
      if (first?.itemId === 'a') {
        topIsA++;
        reported = first.propensity;
      }
    }
    // a is the model's best and has no feedback: 1 − ε + ε/4
    expect(reported).toBeCloseTo(0.7, 12);
    expect(topIsA / runs).toBeCloseTo(0.7, 1);
  });

  it('exploits the best mean reward, the model order breaking ties', () => {
    const policy = new EpsilonGreedyPolicy({ epsilon: 0, rng: createRng(1) });
    expect(policy.select(candidates, 4).map((r) => r.itemId)).toEqual(['a', 'c', 'b', 'd']);
    policy.update({ itemId: 'd', trial: 1, reward: 1 });
    policy.update({ itemId: 'b', trial: 1, reward: 0 });
    policy.update({ itemId: 'b', trial: 0, reward: 1 });
    policy.update({ itemId: 'b', trial: 1, reward: 0 });
    const slate = policy.select(candidates, 3);
    expect(slate.map((r) => r.itemId)).toEqual(['d', 'b', 'a']);
    expect(slate.map((r) => r.propensity)).toEqual([1, 1, 1]);
    expect(slate.map((r) => r.position)).toEqual([0, 1, 2]);
    expect(policy.estimate('b')).toBe(0.5);
  });

  it('round-trips its state and refuses a bad epsilon', () => {
    const policy = new EpsilonGreedyPolicy({ epsilon: 0 });
    policy.update({ itemId: 'c', trial: 1, reward: 1 });
    const copy = new EpsilonGreedyPolicy({ epsilon: 0 });
    expect(copy.importState(policy.exportState())).toEqual({ loaded: 1 });
    expect(copy.estimate('c')).toBe(1);
    expect([...policy.exportState(['item:c']).keys()]).toEqual(['item:c']);
    expect(copy.importState([['meta', { json: { kind: 'thompson', version: 1 } }]]).skipped).toMatch(/thompson/);
    expect(() => new EpsilonGreedyPolicy({ epsilon: 1.5 })).toThrow(/Invalid epsilon/);
  });
});
