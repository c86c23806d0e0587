import { describe, expect, it } from 'vitest';
import { dataPath, readDataset } from '../data/index.js';
import { makeSplit } from './protocols.js';

// Reads the shared Last.FM KG copy; fails (does not skip) when it is missing.
describe('kgcn protocol on Last.FM (ratings_final.txt)', () => {
  it('splits the 42,346 labelled lines into KGCN\'s 25,408 / 8,469 / 8,469', async () => {
    const dataset = await readDataset('lastfm-kg', dataPath('lastfm-kg'));
    const split = await makeSplit(dataset, 'kgcn', { seed: 555 });
    expect(split.test.kind).toBe('pairs');
    expect(split.validation?.kind).toBe('pairs');
    if (split.test.kind !== 'pairs' || split.validation?.kind !== 'pairs') return;
    expect(split.train.dataset.interactions.user.length).toBe(25_408);
    expect(split.validation.user.length).toBe(8_469);
    expect(split.test.user.length).toBe(8_469);
    // half the lines are positives, so each part is close to balanced
    const positives = split.test.label.reduce((a, b) => a + b, 0);
    expect(positives / 8_469).toBeGreaterThan(0.45);
    expect(positives / 8_469).toBeLessThan(0.55);
    let trainPositives = 0;
    for (const v of split.train.dataset.interactions.value) if (v > 0) trainPositives++;
    expect(split.train.csr.indices.length).toBe(trainPositives);
  });
});
