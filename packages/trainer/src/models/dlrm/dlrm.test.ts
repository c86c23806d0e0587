import { describe, expect, it } from 'vitest';
import { checkCtrModel, plantedCtrDataset } from '../pointwise/ctr-test-data.js';
import { buildDenseFeatures, dlrmModel, upperTriangle } from './index.js';

describe('dlrm', () => {
  it('learns the planted rule through dot interactions; the ranker graph matches the trainer in both runtimes', async () => {
    const c = await checkCtrModel(dlrmModel, { seed: 3, epochs: 10, dim: 4, learningRate: 0.01, batchSize: 64, extra: { validation: 0, embeddingLearningRate: 0.01, bottom: '8', top: '8' } });
    expect(c.metrics.auc).toBeGreaterThan(0.85);
    expect(c.parity.node).toBeLessThan(1e-4);
    expect(c.parity['web-wasm']).toBeLessThan(1e-4);
    expect(c.batchVsPairs).toBeLessThan(1e-5);
  });

  it('interacts each pair of vectors once', () => {
    expect(Array.from(upperTriangle(3))).toEqual([1, 2, 5]);
  });

  it('standardises dense features and gives the unknown user the mean (zeros)', () => {
    const d = plantedCtrDataset();
    const f = buildDenseFeatures(d, 60, 40, true);
    expect(f.names).toEqual(['user:log_count', 'item:log_count', 'item:year', 'item:genre:A', 'item:genre:B']);
    expect(f.user[60]).toBe(0);
    let mean = 0;
    for (let i = 0; i < 40; i++) mean += f.item[i * f.itemWidth + 1]!;
    expect(Math.abs(mean / 40)).toBeLessThan(1e-5);
  });
});
