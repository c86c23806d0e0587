import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../store/memory-store.js';
import type { EventRecord } from '../store/types.js';
import { createPolicy } from './create-policy.js';
import { LinUcbPolicy } from './linucb.js';
import { OnlineLearner } from './online-learner.js';
import { ThompsonSamplingPolicy } from './thompson-sampling.js';
import type { Policy } from './types.js';

const ev = (eventId: string, type: EventRecord['type'], itemId: string, recommId?: string, value?: number): EventRecord => ({
  eventId,
  type,
  itemId,
  userId: 'u',
  recommId,
  value,
  timestamp: 1,
  receivedAt: 1,
});

describe('OnlineLearner', () => {
  it('credits each impression once to the policy that chose it and persists what changed', async () => {
    const store = new MemoryStore();
    const thompson = new ThompsonSamplingPolicy();
    const linucb = new LinUcbPolicy({ mode: 'shared', features: 'item', dim: 2 });
    const policies = new Map<string, Policy>([
      ['ts', thompson],
      ['lin', linucb],
    ]);
    const features = new Map([['b', new Float32Array([1, 0])]]);
    const learner = new OnlineLearner({ store, policies, itemFeatures: (id) => features.get(id), now: () => 7 });
    await store.logRecommendation({
      recommId: 'r1',
      model: 'm',
      policy: 'ts',
      createdAt: 0,
      items: [{ itemId: 'a', position: 0, score: 1, propensity: 0.5 }],
    });
    await store.logRecommendation({
      recommId: 'r2',
      model: 'm',
      policy: 'lin',
      createdAt: 0,
      items: [{ itemId: 'b', position: 0, score: 1, propensity: 1 }],
    });

    const outcomes = await learner.learn([
      ev('1', 'impression', 'a', 'r1'),
      ev('2', 'click', 'a', 'r1'),
      ev('3', 'purchase', 'a', 'r1'),
      ev('4', 'click', 'zz', 'r1'),
      ev('5', 'click', 'a'),
      ev('6', 'dwell', 'b', 'r2', 40),
    ]);
    expect(outcomes).toEqual([
      { policy: 'ts', trial: 1, reward: 0 },
      { policy: 'ts', trial: 0, reward: 1 },
      { policy: 'ts', trial: 0, reward: 0 },
      undefined,
      undefined,
      { policy: 'lin', trial: 1, reward: 1 },
    ]);
    expect(thompson.posterior('a')).toEqual({ alpha: 2, beta: 1 });
    expect(linucb.trials()).toBe(1);

    // A fresh process restores the same state from the store.
    const restoredTs = createPolicy({ kind: 'thompson' }) as ThompsonSamplingPolicy;
    const restoredLin = new LinUcbPolicy({ mode: 'shared', features: 'item', dim: 2 });
    const restored = await new OnlineLearner({
      store,
      policies: new Map<string, Policy>([
        ['ts', restoredTs],
        ['lin', restoredLin],
      ]),
    }).restore();
    expect(restored.get('ts')).toEqual({ loaded: 1 });
    expect(restored.get('lin')).toEqual({ loaded: 1 });
    expect(restoredTs.posterior('a')).toEqual({ alpha: 2, beta: 1 });
    expect(restoredLin.exportState()).toEqual(linucb.exportState());
  });

  it('refuses an unknown policy kind listing the valid ones', () => {
    expect(() => createPolicy({ kind: 'ucb1' } as never)).toThrow(/Valid values: "greedy", "random", "epsilon-greedy", "thompson", "linucb"/);
  });
});
