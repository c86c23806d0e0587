import { IdMap, type Dataset } from '../data/dataset.js';

/** Three films with genres, a tag and release years in their titles: the smallest item-metadata KG. */
export function movieDataset(): Dataset {
  return {
    name: 'movies',
    users: IdMap.from(['u']),
    items: IdMap.from(['10', '20', '30']),
    interactions: { user: new Int32Array(0), item: new Int32Array(0), value: new Float32Array(0), timestamp: new Float64Array(0) },
    itemTitles: ['Toy Story (1995)', 'Heat (1995)', 'Untitled'],
    itemFeatures: { names: ['genre:Animation', 'genre:Action', 'tag:classic'], values: Float32Array.of(1, 0, 1, 0, 1, 0, 0, 1, 0) },
  };
}
