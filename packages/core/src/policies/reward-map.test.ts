import { describe, expect, it } from 'vitest';
import { createRewardMap } from './reward-map.js';

describe('createRewardMap', () => {
  it('maps event types to rewards with the defaults', () => {
    const reward = createRewardMap();
    expect(reward({ type: 'click' })).toBe(1);
    expect(reward({ type: 'skip' })).toBe(0);
    expect(reward({ type: 'impression' })).toBeNull();
    expect(reward({ type: 'dwell', value: 5 })).toBe(0);
    expect(reward({ type: 'dwell', value: 12 })).toBe(0.5);
    expect(reward({ type: 'dwell', value: 300 })).toBe(1);
    expect(reward({ type: 'dwell' })).toBeNull();
    expect(reward({ type: 'rating', value: 4 })).toBe(1);
    expect(reward({ type: 'rating', value: 3.5 })).toBe(0);
    expect(reward({ type: 'custom', value: 3 })).toBeNull();
  });

  it('takes overrides: negative skips, linear ratings, custom values', () => {
    const reward = createRewardMap({ skip: -0.5, rating: { min: 1, max: 5 }, custom: 'value', dwell: null, purchase: 5 });
    expect(reward({ type: 'skip' })).toBe(-0.5);
    expect(reward({ type: 'rating', value: 3 })).toBe(0.5);
    expect(reward({ type: 'rating', value: 9 })).toBe(1);
    expect(reward({ type: 'custom', value: 0.25 })).toBe(0.25);
    expect(reward({ type: 'custom', value: Number.NaN })).toBeNull();
    expect(reward({ type: 'dwell', value: 100 })).toBeNull();
    expect(reward({ type: 'purchase' })).toBe(5);
  });

  it('refuses unknown keys and bad values, naming the valid keys', () => {
    expect(() => createRewardMap({ clik: 1 } as never)).toThrow(/Valid keys: impression, click/);
    expect(() => createRewardMap({ rating: { min: 5, max: 1 } })).toThrow(/Invalid reward map at rating/);
  });
});
