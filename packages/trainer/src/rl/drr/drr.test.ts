import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../engine/backend.js';
import { drrUsersReference, drrUsersSplit } from '../../eval/drr-users.js';
import { syntheticDataset } from '../../synthetic/index.js';
import { RatingEnv } from '../rating-env.js';
import { rollout } from '../rollout.js';
import { userTimelines } from '../timelines.js';
import { drrModels, DrrModel, drrParams, fitDrr, pretrainEmbeddings, STATE_MODULES, StateModule, stateDim } from './index.js';

const small = { stateSize: 4, embeddingDim: 8, embeddingEpochs: 10, envs: 8, steps: 40, batchSize: 16, actorHidden: 16, criticHidden: 16, listSize: 3 };

describe('state modules', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('have the widths of the paper and compute drr-ave as [u, u ⊙ p, p]', () => {
    const n = 3;
    const d = 2;
    const user = tf.tensor2d([[1, 2]]);
    const items = tf.tensor2d([[1, 0, 0, 1, 2, 2]]);
    for (const kind of STATE_MODULES) {
      const sm = new StateModule(kind, n, d);
      const s = sm.apply(user, items);
      expect(s.shape).toEqual([1, stateDim(kind, n, d)]);
      if (kind === 'drr-ave') {
        // weights start at 1/3: p = (1+0+2, 0+1+2) / 3 = (1, 1)
        const v = Array.from(s.dataSync());
        [1, 2, 1, 2, 1, 1].forEach((x, k) => expect(v[k]).toBeCloseTo(x, 5));
      }
      if (kind === 'drr-p') {
        // [H1, H2, H3, H1⊙H2, H1⊙H3, H2⊙H3]
        expect(Array.from(s.dataSync())).toEqual([1, 0, 0, 1, 2, 2, 0, 0, 2, 0, 0, 2]);
      }
      if (kind === 'drr-u') {
        expect(Array.from(s.dataSync())).toEqual([1, 0, 0, 2, 2, 4, 0, 0, 2, 0, 0, 2]);
      }
      s.dispose();
      sm.dispose();
    }
    user.dispose();
    items.dispose();
  });
});

describe('DRR models', () => {
  const data = syntheticDataset({ seed: 3, users: 120, items: 60, perUser: 30 });
  const split = drrUsersSplit(data, { stateSize: 4 });

  it.each(STATE_MODULES)('%s trains its state module end to end and is deterministic', async (kind) => {
    const fit = () => drrModels[kind].fit(split.train, { seed: 7, extra: small });
    const model = (await fit()) as DrrModel;
    const again = (await fit()) as DrrModel;
    try {
      const w = model.networks.sm.weightValues();
      const init = kind === 'drr-ave' ? 1 / small.stateSize : 1;
      // the per-position weights moved away from their initial values
      expect(Math.max(...Array.from(w, (x) => Math.abs(x - init)))).toBeGreaterThan(1e-4);
      const users = Int32Array.of(0, 1, -1);
      const histories = [new Int32Array(0), new Int32Array(0), Int32Array.of(3, 5, 7)];
      const a = await model.scoreBatch(users, histories);
      expect(a.length).toBe(3 * model.nItems);
      expect(Array.from(a)).toEqual(Array.from(await again.scoreBatch(users, histories)));
    } finally {
      model.dispose();
      again.dispose();
    }
  });

  it('learns from the environment: trained from scratch, drr-ave collects more reward than untrained', async () => {
    // skip off: the actor starts from random weights, so any gain is the actor–critic's doing
    const scratch = { ...small, skip: 0, actorDelay: 0, noiseStd: 0.15, actorLr: 1e-3 };
    const untrained = (await drrModels['drr-ave'].fit(split.train, { seed: 7, extra: { ...scratch, steps: 1 } })) as DrrModel;
    const trained = (await drrModels['drr-ave'].fit(split.train, { seed: 7, extra: { ...scratch, steps: 150 } })) as DrrModel;
    try {
      const env = new RatingEnv(userTimelines(split.train.dataset), untrained.nItems, { stateSize: small.stateSize, maxSteps: 10 });
      const before = await rollout(env, untrained, env.users);
      const after = await rollout(env, trained, env.users);
      expect(after.meanReturn).toBeGreaterThan(before.meanReturn + 0.5);
    } finally {
      untrained.dispose();
      trained.dispose();
    }
  });

  it('with the skip connection an untrained actor ranks exactly like the MF user vector', async () => {
    const model = (await drrModels['drr-u'].fit(split.train, { seed: 3, extra: { ...small, steps: 1 } })) as DrrModel;
    try {
      const d = model.embeddings.dim;
      const a = await model.embedUsers(Int32Array.of(5), [new Int32Array(0)]);
      const u = model.embeddings.users.subarray(5 * d, 6 * d);
      const norm = Math.hypot(...u);
      u.forEach((x, k) => expect(a[k]).toBeCloseTo(x / norm, 5));
    } finally {
      model.dispose();
    }
  });

  it('can pre-train its embeddings on another train set of the same users and items (the reference evaluation)', async () => {
    const full = drrUsersReference(data, { stateSize: 4 }).full;
    const options = { seed: 7, extra: { ...small, steps: 2 } };
    const model = await fitDrr('drr-u', split.train, options, full);
    try {
      expect(model.embeddings.users).toEqual(pretrainEmbeddings(full, drrParams('drr-u', options), 7).users);
      expect(model.embeddings.users).not.toEqual(pretrainEmbeddings(split.train, drrParams('drr-u', options), 7).users);
    } finally {
      model.dispose();
    }
    const fewer = drrUsersSplit(syntheticDataset({ seed: 3, users: 50, items: 60, perUser: 30 }), { stateSize: 4 }).train;
    await expect(fitDrr('drr-u', split.train, options, fewer)).rejects.toThrow(/same users and items/);
  });

  it('rejects bad hyper-parameters with the valid choices', async () => {
    await expect(drrModels['drr-n'].fit(split.train, { seed: 1, extra: { embeddings: 'svd' } })).rejects.toThrow(/Valid: bpr, pmf/);
    await expect(drrModels['drr-n'].fit(split.train, { seed: 1, extra: { gamma: 1.5 } })).rejects.toThrow(/gamma/);
    await expect(drrModels['drr-n'].fit(split.train, { seed: 1, extra: { steps: 0 } })).rejects.toThrow(/steps/);
  });
});
