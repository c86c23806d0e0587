import { describe, expect, it } from 'vitest';
import { encodeBlockFile } from './block-file.js';
import { decodeDqnSideData, encodeDqnSideData, type DqnSideData } from './dqn-weights.js';

const side: DqnSideData = {
  stateSize: 2,
  dim: 1,
  nItems: 2,
  nUsers: 1,
  prior: 'ridge',
  lambda: 0.3,
  userPrior: true,
  episodeBelief: false,
  likedRating: 4,
  skippedRating: 2.5,
  globalMean: 3.5,
  itemFactors: Float32Array.of(0.5, -0.25),
  itemBias: Float32Array.of(0.1, -0.1),
  userFactors: Float32Array.of(0.75),
  userBias: Float32Array.of(0.2),
  liked: Int32Array.of(-1, 1),
  skipped: Int32Array.of(-1, 0),
  likedRatings: Float32Array.of(0, 5),
  skippedRatings: Float32Array.of(0, 2),
};

describe('DQN side data', () => {
  it('round-trips every field, episodeBelief included', () => {
    expect(decodeDqnSideData(encodeDqnSideData(side))).toEqual(side);
    expect(decodeDqnSideData(encodeDqnSideData({ ...side, episodeBelief: true })).episodeBelief).toBe(true);
  });

  it('reads side data written before episodeBelief existed as episodeBelief: true (live feedback enters the belief, as it did then)', () => {
    const { episodeBelief: _dropped, ...older } = side;
    const names = ['itemFactors', 'itemBias', 'userFactors', 'userBias', 'liked', 'skipped', 'likedRatings', 'skippedRatings'] as const;
    const header = {
      format: 'tastemaker-dqn',
      version: 1,
      blocks: names.map((name) => ({ name, length: side[name].length })),
      ...Object.fromEntries(Object.entries(older).filter(([k]) => !(names as readonly string[]).includes(k))),
    };
    const bytes = encodeBlockFile([0x54, 0x4d, 0x44, 0x51], header, names.map((name) => side[name]));
    expect(decodeDqnSideData(bytes)).toEqual({ ...side, episodeBelief: true });
  });
});
