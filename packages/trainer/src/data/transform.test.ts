import { describe, expect, it } from 'vitest';
import { IdMap, type Dataset } from './dataset.js';
import { binarize, selectInteractions, subsetInteractions } from './transform.js';

const dataset: Dataset = {
  name: 't',
  users: IdMap.from(['a', 'b']),
  items: IdMap.from(['x', 'y', 'z']),
  interactions: {
    user: Int32Array.from([0, 0, 1, 1]),
    item: Int32Array.from([0, 1, 1, 2]),
    value: Float32Array.from([5, 3, 4, 1]),
    timestamp: Float64Array.from([10, 11, 12, 13]),
  },
  itemTitles: ['X', 'Y', 'Z'],
};

describe('binarize', () => {
  it('keeps interactions at or above the threshold with value 1 and shares the id maps', () => {
    const b = binarize(dataset, 4);
    expect([...b.interactions.user]).toEqual([0, 1]);
    expect([...b.interactions.item]).toEqual([0, 1]);
    expect([...b.interactions.value]).toEqual([1, 1]);
    expect([...b.interactions.timestamp]).toEqual([10, 12]);
    expect(b.users).toBe(dataset.users);
    expect(b.itemTitles).toBe(dataset.itemTitles);
    // the source is untouched
    expect([...dataset.interactions.value]).toEqual([5, 3, 4, 1]);
  });
});

describe('subsetInteractions', () => {
  it('gathers the given interactions in order', () => {
    const s = subsetInteractions(dataset, Int32Array.from([3, 0]));
    expect([...s.interactions.item]).toEqual([2, 0]);
    expect([...s.interactions.value]).toEqual([1, 5]);
    expect(s.items).toBe(dataset.items);
    expect(() => subsetInteractions(dataset, [4])).toThrow('interaction index 4 is outside [0, 4)');
  });

  it('selects indices by value', () => {
    expect([...selectInteractions(dataset, (v) => v < 4)]).toEqual([1, 3]);
  });
});
