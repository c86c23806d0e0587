import { describe, expect, it } from 'vitest';
import { IdMap, type Dataset } from '../data/dataset.js';
import { Rng } from '../engine/rng.js';
import { sampleUser, STATE_PADDING } from './env.js';
import { RatingEnv } from './rating-env.js';
import { userTimelines } from './timelines.js';

/** rows (user, item, rating, timestamp) in the given (unsorted) file order */
function dataset(rows: [number, number, number, number][], nUsers: number, nItems: number): Dataset {
  return {
    name: 'test',
    users: IdMap.from(Array.from({ length: nUsers }, (_, u) => String(u + 1))),
    items: IdMap.from(Array.from({ length: nItems }, (_, i) => `i${i}`)),
    interactions: {
      user: Int32Array.from(rows, (r) => r[0]),
      item: Int32Array.from(rows, (r) => r[1]),
      value: Float32Array.from(rows, (r) => r[2]),
      timestamp: Float64Array.from(rows, (r) => r[3]),
    },
  };
}

// user 0 rates items 0..5 at times 60, 50, …, 10 (file order is newest first), item 6 with a 2
const rows: [number, number, number, number][] = [
  [0, 0, 5, 60],
  [0, 1, 4, 50],
  [0, 2, 2, 45],
  [0, 3, 5, 40],
  [0, 4, 4, 30],
  [0, 5, 5, 20],
  [0, 6, 4, 10],
  [1, 0, 5, 1],
  [1, 1, 5, 2],
];

describe('userTimelines', () => {
  it('orders each user by timestamp, ties in file order', () => {
    const t = userTimelines(dataset([...rows, [1, 7, 3, 2]], 2, 8));
    expect(Array.from(t.items[0]!)).toEqual([6, 5, 4, 3, 2, 1, 0]);
    expect(Array.from(t.ratings[0]!)).toEqual([4, 5, 4, 5, 2, 4, 5]);
    expect(Array.from(t.items[1]!)).toEqual([0, 1, 7]);
  });
});

describe('RatingEnv', () => {
  const env = new RatingEnv(userTimelines(dataset(rows, 2, 9)), 9, { stateSize: 3, maxSteps: 10 });

  it('starts only users with more positives than the state holds', () => {
    expect(Array.from(env.users)).toEqual([0]);
    expect(sampleUser(env, new Rng(1))).toBe(0);
  });

  it('starts from the first positives by time and rewards (rating − 3) / 2', () => {
    const ep = env.reset(0);
    expect(Array.from(ep.state)).toEqual([6, 5, 4]);
    expect(ep.step(3)).toEqual({ reward: 1, positive: true, done: false });
    // the liked item enters at the end, the oldest leaves
    expect(Array.from(ep.state)).toEqual([5, 4, 3]);
    // a rated negative costs and leaves the state alone
    expect(ep.step(2)).toEqual({ reward: -0.5, positive: false, done: false });
    expect(Array.from(ep.state)).toEqual([5, 4, 3]);
  });

  it('penalises unrated items and repeats, and never pays twice for an item', () => {
    const custom = new RatingEnv(userTimelines(dataset(rows, 2, 9)), 9, { stateSize: 3, unratedPenalty: -0.25 });
    const ep = custom.reset(0);
    expect(ep.step(8).reward).toBe(-0.25);
    expect(ep.step(6).reward).toBe(-0.25); // in the initial state
    expect(ep.step(0).reward).toBe(1);
    expect(ep.step(0).reward).toBe(-0.25);
    expect(ep.seen(0)).toBe(true);
  });

  it('ends when every positive was found, or at the step cap', () => {
    const ep = env.reset(0);
    ep.step(3);
    ep.step(1);
    expect(ep.done).toBe(false);
    expect(ep.step(0).done).toBe(true);
    expect(() => ep.step(8)).toThrow(/over/);
    const capped = new RatingEnv(userTimelines(dataset(rows, 2, 9)), 9, { stateSize: 3, maxSteps: 2 }).reset(0);
    capped.step(8);
    expect(capped.step(8).done).toBe(true);
    expect(capped.steps).toBe(2);
  });

  it('pads a short state at the front', () => {
    const short = new RatingEnv(userTimelines(dataset(rows, 2, 9)), 9, { stateSize: 3 });
    const ep = short.reset(1);
    expect(Array.from(ep.state)).toEqual([STATE_PADDING, 0, 1]);
  });

  it('rejects bad configuration', () => {
    expect(() => new RatingEnv(userTimelines(dataset(rows, 2, 9)), 9, { stateSize: 0 })).toThrow(/stateSize/);
    expect(() => new RatingEnv(userTimelines(dataset(rows, 2, 9)), 9, { maxSteps: 1.5 })).toThrow(/maxSteps/);
  });
});
