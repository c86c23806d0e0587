import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { PrioritizedReplay } from './replay.js';

function filled(capacity: number, count: number): PrioritizedReplay {
  const r = new PrioritizedReplay(capacity, 2, 1, 1);
  for (let j = 0; j < count; j++) r.add(j, Int32Array.of(j, j), Float32Array.of(j), j / 10, Int32Array.of(j + 1, j + 1), j % 2 === 0);
  return r;
}

describe('PrioritizedReplay', () => {
  it('returns what was stored', () => {
    const r = filled(8, 3);
    const b = r.sample(3, 0.4, new Rng(1));
    for (let k = 0; k < 3; k++) {
      const j = b.slots[k]!;
      expect(b.users[k]).toBe(j);
      expect(Array.from(b.states.subarray(2 * k, 2 * k + 2))).toEqual([j, j]);
      expect(Array.from(b.nextStates.subarray(2 * k, 2 * k + 2))).toEqual([j + 1, j + 1]);
      expect(b.actions[k]).toBe(j);
      expect(b.rewards[k]).toBeCloseTo(j / 10, 6);
      expect(b.dones[k]).toBe(j % 2 === 0 ? 1 : 0);
    }
  });

  it('draws in proportion to priority and down-weights frequent draws', () => {
    const r = filled(4, 4);
    // α = 1: priorities 1, 1, 1, 7 (+ε) → slot 3 should be drawn ~70 % of the time
    r.update(Int32Array.of(0, 1, 2, 3), Float32Array.of(1, 1, 1, 7));
    expect(r.probability(3)).toBeCloseTo(7 / 10, 2);
    const rng = new Rng(2);
    let hits = 0;
    let draws = 0;
    for (let t = 0; t < 200; t++) {
      const b = r.sample(8, 1, rng);
      for (let k = 0; k < 8; k++) {
        draws++;
        if (b.slots[k] === 3) {
          hits++;
          expect(b.weights[k]).toBeLessThan(0.2);
        } else expect(b.weights[k]).toBeCloseTo(1, 2);
      }
    }
    expect(hits / draws).toBeGreaterThan(0.6);
    expect(hits / draws).toBeLessThan(0.8);
  });

  it('overwrites the oldest transitions when full', () => {
    const r = filled(4, 6);
    expect(r.size).toBe(4);
    const b = r.sample(16, 0.5, new Rng(3));
    expect(new Set(b.users)).toEqual(new Set([2, 3, 4, 5]));
  });

  it('refuses to sample an empty buffer', () => {
    expect(() => new PrioritizedReplay(4, 1, 1).sample(1, 1, new Rng(1))).toThrow(/empty/);
  });
});
