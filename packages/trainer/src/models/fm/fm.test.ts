import { describe, expect, it } from 'vitest';
import { checkCtrModel } from '../pointwise/ctr-test-data.js';
import { fmModel } from './index.js';

describe('fm', () => {
  it('learns the planted gender × genre rule from side features; the ranker graph matches the trainer', async () => {
    const c = await checkCtrModel(fmModel, { seed: 3, epochs: 20, dim: 4, learningRate: 0.1, extra: { validation: 0 } });
    expect(c.metrics.auc).toBeGreaterThan(0.85);
    expect(c.parity.node).toBeLessThan(1e-4);
    expect(c.parity['web-wasm']).toBeLessThan(1e-4);
    expect(c.batchVsPairs).toBeLessThan(1e-6);
  });

  it('with few ratings per user, side features carry the rule that ids alone cannot learn', async () => {
    const options = { seed: 3, epochs: 20, dim: 4, learningRate: 0.1 };
    const side = await checkCtrModel(fmModel, { ...options, extra: { validation: 0 } }, 6);
    const ids = await checkCtrModel(fmModel, { ...options, extra: { validation: 0, side: false } }, 6);
    expect(side.metrics.auc).toBeGreaterThan(ids.metrics.auc! + 0.05);
  });
});
