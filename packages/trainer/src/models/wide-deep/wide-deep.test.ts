import { describe, expect, it } from 'vitest';
import { checkCtrModel, plantedCtrDataset } from '../pointwise/ctr-test-data.js';
import { buildCtrFeatures } from '../pointwise/feature-fields.js';
import { userItemCrosses, wideDeepModel } from './index.js';

const quick = { seed: 3, epochs: 10, dim: 4, learningRate: 0.01, batchSize: 64 };

describe('wide-deep', () => {
  it('learns the planted rule; the ranker graph (wide crosses + deep MLP) matches the trainer in both runtimes', async () => {
    const c = await checkCtrModel(wideDeepModel, { ...quick, extra: { validation: 0, embeddingLearningRate: 0.01, hidden: '8' } });
    expect(c.metrics.auc).toBeGreaterThan(0.85);
    expect(c.parity.node).toBeLessThan(1e-4);
    expect(c.parity['web-wasm']).toBeLessThan(1e-4);
    expect(c.batchVsPairs).toBeLessThan(1e-5);
    expect(c.info.backend).toBe('wasm');
  });

  it('the deep part alone (wide=false) still learns and exports', async () => {
    const c = await checkCtrModel(wideDeepModel, { ...quick, extra: { validation: 0, embeddingLearningRate: 0.01, hidden: '8', wide: false } });
    expect(c.metrics.auc).toBeGreaterThan(0.8);
    expect(c.parity.node).toBeLessThan(1e-4);
  });

  it('crosses every user slot with every item slot except user id × item id', () => {
    const f = buildCtrFeatures(plantedCtrDataset(), 60, 40);
    const { first, second } = userItemCrosses(f);
    expect(first.length).toBe(f.userSlots * f.itemSlots - 1);
    expect(first.every((s) => s < f.userSlots)).toBe(true);
    expect(second.every((t) => t >= f.userSlots)).toBe(true);
  });

  it('rejects malformed hidden widths with a typed error', async () => {
    await expect(checkCtrModel(wideDeepModel, { ...quick, extra: { hidden: '8,x' } })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
