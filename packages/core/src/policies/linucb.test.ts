import { describe, expect, it } from 'vitest';
import { RandomPolicy } from './baseline-policies.js';
import { LinUcbPolicy } from './linucb.js';
import { identity, invert } from './linear-algebra.js';
import { createRng, sampleNormal, type Rng } from './rng.js';
import type { Policy, PolicyCandidate } from './types.js';

function unitVector(rng: Rng, d: number): Float32Array {
  const v = Float32Array.from({ length: d }, () => sampleNormal(rng));
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

/** Plays T rounds where the click probability is linear in the features; returns the clicks earned. */
function simulate(policy: Policy, world: { items: PolicyCandidate[]; users: Float32Array[]; clickProbability: (u: Float32Array, v: Float32Array) => number }, rounds: number, seed: number): number {
  const rng = createRng(seed);
  let clicks = 0;
  for (let t = 0; t < rounds; t++) {
    const user = world.users[Math.floor(rng.next() * world.users.length)] as Float32Array;
    const [shown] = policy.select(world.items, 1, { userFeatures: user });
    if (shown === undefined) throw new Error('empty slate');
    const itemFeatures = world.items.find((c) => c.itemId === shown.itemId)?.features as Float32Array;
    const click = rng.next() < world.clickProbability(user, itemFeatures) ? 1 : 0;
    clicks += click;
    policy.update({ itemId: shown.itemId, trial: 1, reward: click, userFeatures: user, itemFeatures });
  }
  return clicks;
}

describe('LinUcbPolicy', () => {
  const d = 5;
  const rng = createRng(2024);
  const theta = unitVector(rng, d);
  const items: PolicyCandidate[] = Array.from({ length: 30 }, (_, i) => ({ itemId: `i${i}`, score: 0, features: unitVector(rng, d) }));
  const users = Array.from({ length: 8 }, () => unitVector(rng, d));

  it('shared mode learns a planted linear reward far better than random', () => {
    // P(click) = 0.5 + 0.4 θ*ᵀv: only the item features matter.
    const world = { items, users, clickProbability: (_u: Float32Array, v: Float32Array) => 0.5 + 0.4 * v.reduce((s, x, i) => s + x * (theta[i] as number), 0) };
    const best = Math.max(...items.map((c) => world.clickProbability(users[0] as Float32Array, c.features as Float32Array)));
    const rounds = 1500;
    const lin = simulate(new LinUcbPolicy({ mode: 'shared', features: 'item', dim: d, alpha: 0.5 }), world, rounds, 1);
    const random = simulate(new RandomPolicy({ rng: createRng(3) }), world, rounds, 1);
    expect(lin / rounds).toBeGreaterThan(random / rounds + 0.15);
    expect(lin / rounds).toBeGreaterThan(best - 0.1);
  });

  it('disjoint mode learns per-item responses to user features', () => {
    // Each item has its own preference vector over user features.
    const prefs = new Map(items.slice(0, 6).map((c) => [c.itemId, unitVector(rng, d)]));
    const few = items.slice(0, 6);
    const world = {
      items: few,
      users,
      clickProbability: (u: Float32Array, v: Float32Array) => {
        const id = few.find((c) => c.features === v)?.itemId as string;
        const w = prefs.get(id) as Float32Array;
        return 0.5 + 0.45 * u.reduce((s, x, i) => s + x * (w[i] as number), 0);
      },
    };
    const rounds = 2000;
    const lin = simulate(new LinUcbPolicy({ mode: 'disjoint', features: 'user', dim: d, alpha: 0.5 }), world, rounds, 7);
    const random = simulate(new RandomPolicy({ rng: createRng(4) }), world, rounds, 7);
    expect(lin / rounds).toBeGreaterThan(random / rounds + 0.1);
  });

  it('keeps A⁻¹ equal to the direct inverse and b = Σ r x', () => {
    const policy = new LinUcbPolicy({ mode: 'shared', features: 'item', dim: 2, lambda: 2 });
    const xs = [
      [1, 0.5, -1],
      [1, 2, 0.25],
      [1, -0.5, 1],
    ];
    const a = identity(3, 2);
    xs.forEach((x, t) => {
      policy.update({ itemId: `i${t}`, trial: 1, reward: t === 1 ? 1 : 0, itemFeatures: Float32Array.from(x.slice(1)) });
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) a[i * 3 + j] = (a[i * 3 + j] as number) + (x[i] as number) * (x[j] as number);
    });
    const state = policy.exportState().get('shared');
    const values = new Float64Array(new Uint8Array(state?.blob ?? []).buffer);
    const direct = invert(a, 3);
    for (let i = 0; i < 9; i++) expect(values[i]).toBeCloseTo(direct[i] as number, 12);
    expect(Array.from(values.slice(9))).toEqual([1, 2, 0.25]);
    expect(policy.trials()).toBe(3);
  });

  it('round-trips state, and ignores state of another shape', () => {
    const policy = new LinUcbPolicy({ mode: 'disjoint', features: 'user', dim: d });
    const user = users[0] as Float32Array;
    for (let i = 0; i < 20; i++) policy.update({ itemId: `i${i % 3}`, trial: 1, reward: i % 2, userFeatures: user });
    const copy = new LinUcbPolicy({ mode: 'disjoint', features: 'user', dim: d });
    expect(copy.importState(policy.exportState())).toEqual({ loaded: 3 });
    expect(copy.select(items, 5, { userFeatures: user })).toEqual(policy.select(items, 5, { userFeatures: user }));
    const other = new LinUcbPolicy({ mode: 'disjoint', features: 'user', dim: d + 1 });
    expect(other.importState(policy.exportState()).skipped).toMatch(/does not match/);
  });

  it('follows the model order before any feedback and validates its options', () => {
    const policy = new LinUcbPolicy({ mode: 'disjoint', features: 'none', dim: 0 });
    const slate = policy.select([{ itemId: 'x', score: 1 }, { itemId: 'y', score: 3 }, { itemId: 'x', score: 9 }], 5);
    expect(slate.map((r) => [r.itemId, r.propensity])).toEqual([
      ['y', 1],
      ['x', 1],
    ]);
    expect(() => new LinUcbPolicy({ mode: 'hybrid' as 'shared', dim: 2 })).toThrow(/Valid values: "disjoint", "shared"/);
    expect(() => new LinUcbPolicy({ dim: 2, features: 'bogus' as 'user' })).toThrow(/Invalid features/);
  });
});
