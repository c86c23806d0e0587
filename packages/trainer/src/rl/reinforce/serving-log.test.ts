import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '@tastemaker/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { positivesTrainSet } from '../../models/train-set.js';
import { syntheticDataset } from '../../synthetic/index.js';
import { reinforceModel, type ReinforceModel } from './index.js';
import { stepsFromServingLog } from './serving-log.js';

const small = { stateSize: 4, hidden: 16, embeddingDim: 6, embeddingEpochs: 15, maxEpisodeSteps: 8, batchSize: 16, epochs: 3, curveUsers: 0 };

describe('reinforce trained from a server’s SQLite log', () => {
  const train = positivesTrainSet(syntheticDataset({ seed: 7, users: 60, items: 40, perUser: 20 }));
  const d = train.dataset;
  let dir = '';
  let db = '';
  const shown = { known: 0, clicked: 0 };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'reinforce-log-'));
    db = path.join(dir, 'served.db');
    // What a server logs: slates of 5 with their propensities, clicks attributed to some items, and
    // one slate naming an item the data set does not have.
    const store = new SqliteStore(db);
    for (let s = 0; s < 30; s++) {
      const items = Array.from({ length: 5 }, (_, p) => ({ itemId: d.items.ids[(s * 3 + p * 7) % d.items.size]!, position: p, score: 1 - p / 10, propensity: 0.1 + p / 10 }));
      await store.logRecommendation({ recommId: `r${String(s).padStart(3, '0')}`, userId: d.users.ids[s % 10]!, model: 'm', policy: 'thompson', createdAt: 1000 + s, items });
      shown.known += items.length;
      if (s % 3 === 0) {
        await store.attributeFeedback([{ recommId: `r${String(s).padStart(3, '0')}`, itemId: items[1]!.itemId, reward: 1 }]);
        shown.clicked++;
      }
    }
    await store.logRecommendation({ recommId: 'r999', userId: d.users.ids[0]!, model: 'm', policy: 'thompson', createdAt: 5000, items: [{ itemId: 'not-in-the-data', position: 0, score: 1, propensity: 0.5 }] });
    await store.close();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads every served impression with its propensity and reward', async () => {
    const { steps, slates, skipped } = await stepsFromServingLog(db, d, { stateSize: 4, gamma: 0.5 });
    expect(slates).toBe(31);
    expect(skipped).toBe(1);
    expect(steps).toHaveLength(shown.known);
    expect(steps.filter((s) => s.reward === 1)).toHaveLength(shown.clicked);
    expect(new Set(steps.map((s) => Math.round(s.propensity * 10) / 10))).toEqual(new Set([0.1, 0.2, 0.3, 0.4, 0.5]));
    expect(steps.every((s) => s.user >= 0 && s.user < 10)).toBe(true);
  });

  it('trains the policy on them (--set log=FILE) instead of a simulated log', async () => {
    const messages: string[] = [];
    const fromLog = (await reinforceModel.fit(train, { seed: 5, extra: { ...small, log: db }, log: (m) => messages.push(m) })) as ReinforceModel;
    const simulated = (await reinforceModel.fit(train, { seed: 5, extra: small })) as ReinforceModel;
    expect(messages.some((m) => m.includes(`${shown.known} logged steps from 31 slates of the serving log`))).toBe(true);
    expect(fromLog.log.loggedSteps).toBe(shown.known);
    const users = Int32Array.of(0, 3);
    const none = [new Int32Array(0), new Int32Array(0)];
    expect(Array.from(await fromLog.scoreBatch(users, none))).not.toEqual(Array.from(await simulated.scoreBatch(users, none)));
  });

  it('refuses a missing file and a log with nothing it can use, with clear errors', async () => {
    await expect(reinforceModel.fit(train, { seed: 5, extra: { ...small, log: path.join(dir, 'nope.db') } })).rejects.toThrow(/no serving log at .*nope\.db/);
    const empty = path.join(dir, 'empty.db');
    await new SqliteStore(empty).close();
    await expect(stepsFromServingLog(empty, d, { stateSize: 4, gamma: 0.5 })).rejects.toThrow(/has no impression of an item in this data set \(0 slates read\)/);
    await expect(reinforceModel.fit(train, { seed: 5, extra: { ...small, log: '' } })).rejects.toThrow(/Invalid log/);
  });
});
