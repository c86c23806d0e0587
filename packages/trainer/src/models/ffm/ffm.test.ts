import { describe, expect, it } from 'vitest';
import { checkCtrModel } from '../pointwise/ctr-test-data.js';
import { ffmModel } from './index.js';

describe('ffm', () => {
  it('learns the planted rule with field-aware factors; the ranker graph matches the trainer', async () => {
    const c = await checkCtrModel(ffmModel, { seed: 3, epochs: 20, dim: 4, learningRate: 0.1, extra: { validation: 0 } });
    expect(c.metrics.auc).toBeGreaterThan(0.85);
    expect(c.parity.node).toBeLessThan(1e-4);
    expect(c.parity['web-wasm']).toBeLessThan(1e-4);
    expect(c.batchVsPairs).toBeLessThan(1e-6);
  });

  it('stops early on the validation split and records the best epoch', async () => {
    const c = await checkCtrModel(ffmModel, { seed: 3, epochs: 40, dim: 4, learningRate: 0.5, extra: { validation: 0.2, patience: 1 } });
    const p = c.info.params as { bestEpoch?: number; labelsUsed?: string };
    expect(p.labelsUsed).toBe('explicit');
    expect(p.bestEpoch).toBeGreaterThan(0);
    expect(c.info.epochs).toBeLessThan(40);
  });
});
