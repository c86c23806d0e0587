/**
 * A small run of examples/movielens: ML-100K → BPR bundle → the Node server (SQLite store) →
 * held-out users clicking through /v1/events. Reads the shared ML-100K copy and fails (does not skip)
 * when it is missing, so a broken data setup is never mistaken for a passing example.
 */
import { describe, expect, it } from 'vitest';
import { dataPath } from '@tastemaker/trainer';
import { runSimulation } from '../examples/movielens/simulation.js';

describe('examples/movielens simulation', () => {
  it('a learning policy (Thompson or LinUCB) gets a higher CTR than random and popularity, through the real event path', async () => {
    const result = await runSimulation({
      dataDir: dataPath('ml-100k'),
      seed: 42,
      users: 120,
      rounds: 3,
      k: 10,
      // Fewer epochs than the example's default keep this under the time budget; the model still
      // ranks far better than chance, which is all the comparison needs.
      epochs: 20,
      policies: ['random', 'popularity', 'thompson', 'linucb'],
    });
    const ctr = Object.fromEntries(result.policies.map((p) => [p.policy, p]));
    const random = ctr.random;
    const popularity = ctr.popularity;
    const thompson = ctr.thompson;
    const linucb = ctr.linucb;
    if (random === undefined || popularity === undefined || thompson === undefined || linucb === undefined) throw new Error('a policy is missing from the result');

    // Every policy saw the same users for the same number of visits, and every slate was full.
    for (const p of result.policies) expect(p.impressions).toBe(result.users * result.rounds * result.k);
    expect(result.users).toBe(120);
    expect(random.clicks).toBeGreaterThan(0);

    const learned = Math.max(thompson.ctr, linucb.ctr);
    const table = JSON.stringify(result.policies.map(({ policy, ctr: c, clicks }) => ({ policy, ctr: c, clicks })));
    expect(learned, table).toBeGreaterThan(random.ctr);
    expect(learned, table).toBeGreaterThan(popularity.ctr);
  }, 120_000);
});
