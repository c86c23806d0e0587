import { describe, expect, it } from 'vitest';
import { popularityModel } from '../models/popularity/index.js';
import { syntheticDataset } from '../synthetic/index.js';
import { simulate } from './simulate.js';

const dataset = syntheticDataset({ seed: 4, users: 100, items: 50, perUser: 30 });
const small = { stateSize: 10, embeddingDim: 8, embeddingEpochs: 10, envs: 8, steps: 30, batchSize: 16, actorHidden: 16, criticHidden: 16, hidden: 8, mlpHidden: 16, warmup: 32, epochs: 1, curveUsers: 10, curvePoints: 3 };
const options = {
  policies: ['drr-ave', 'dqn', 'reinforce', 'linucb', 'mf-greedy', 'popularity', 'random'],
  steps: 5,
  seed: 3,
  fit: { extra: small },
  factory: () => popularityModel,
};

describe('simulate', () => {
  it('reports every policy, reproducibly, with the rating model ahead of random on its own simulator', async () => {
    const a = await simulate(dataset, options);
    const b = await simulate(dataset, options);
    expect(Object.keys(a.policies)).toEqual(options.policies);
    for (const id of options.policies) expect(a.policies[id]!.meanReturn).toBe(b.policies[id]!.meanReturn);
    expect(a.users).toBeGreaterThan(0);
    expect(a.policies['mf-greedy']!.meanReturn).toBeGreaterThan(a.policies.random!.meanReturn);
    // a step's reward is in [−1, 1]
    for (const id of options.policies) expect(Math.abs(a.policies[id]!.meanReturn)).toBeLessThanOrEqual(5);
    // one learning curve per trained RL policy (the DQN's validation too), identical across runs
    expect(a.curves.map((c) => c.policy)).toEqual(['drr-ave', 'dqn', 'dqn (validation)', 'reinforce']);
    expect(a.curves).toEqual(b.curves);
    for (const c of a.curves) expect(c.points.length).toBeGreaterThan(0);
  });

  it('rejects an unknown policy listing the valid ones', async () => {
    await expect(simulate(dataset, { ...options, policies: ['ddpg'] })).rejects.toThrow(/Valid: drr-n, drr-p, drr-u, drr-ave, dqn, reinforce, linucb, mf-greedy, popularity, random/);
  });
});
