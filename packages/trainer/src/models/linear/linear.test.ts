import { describe, expect, it } from 'vitest';
import { checkCtrModel } from '../pointwise/ctr-test-data.js';
import { lrModel, poly2Model } from './index.js';
import { pairBucket } from './hashed-pairs.js';

describe('lr', () => {
  it('learns the planted side-feature rule, exports a ranker that matches in both runtimes', async () => {
    const c = await checkCtrModel(lrModel, { seed: 3, epochs: 15, extra: { validation: 0 } });
    // gender × genre is an interaction LR cannot express; user and item biases still beat chance
    expect(c.metrics.auc).toBeGreaterThan(0.55);
    expect(c.parity.node).toBeLessThan(1e-4);
    expect(c.parity['web-wasm']).toBeLessThan(1e-4);
    expect(c.batchVsPairs).toBeLessThan(1e-6);
    expect(c.info.backend).toBe('typed-arrays');
  });

  it('rejects a bad learning rate with the option named', async () => {
    await expect(checkCtrModel(lrModel, { seed: 1, learningRate: -1 })).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'learningRate' } });
  });
});

describe('poly2', () => {
  it('learns the gender × genre interaction through its pair weights', async () => {
    const c = await checkCtrModel(poly2Model, { seed: 3, epochs: 15, learningRate: 0.1, extra: { validation: 0, buckets: 4096 } });
    expect(c.metrics.auc).toBeGreaterThan(0.85);
    expect(c.parity.node).toBeLessThan(1e-4);
    expect(c.parity['web-wasm']).toBeLessThan(1e-4);
  });

  it('hashes pairs into [0, buckets) exactly as the int64 graph does', () => {
    expect(pairBucket(3000, 2999, 1 << 20)).toBe(Number((3000n * 1_000_003n + 2999n * 19_260_817n) % BigInt(1 << 20)));
    expect(pairBucket(0, 0, 7)).toBe(0);
  });
});
