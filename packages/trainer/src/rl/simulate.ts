import { TastemakerError } from '@tastemaker/core';
import type { Dataset } from '../data/dataset.js';
import { Rng } from '../engine/rng.js';
import { drrUsersSplit } from '../eval/drr-users.js';
import type { FitOptions, ModelFactory, TrainedModel } from '../models/types.js';
import { drrModels, STATE_MODULES } from './drr/index.js';
import { STATE_PADDING } from './env.js';
import { MfEnv } from './mf-env.js';
import { mfGreedyModel } from './mf-greedy.js';
import { PMF_DEFAULTS, trainPmf } from './pmf.js';
import { rollout, type StatePolicy } from './rollout.js';

/**
 * `tastemaker simulate`: policies trained on the drr-users train part play episodes against an MF
 * simulator of the held-out users. The simulator is a PMF fitted on every rating of every user (it
 * stands in for the real users, so it may know their future); each held-out user's episode starts
 * from their first 10 positive items, and the policy's cumulative reward over `steps` steps is
 * averaged over the held-out users.
 */

export const SIMULATE_POLICIES = ['drr-n', 'drr-p', 'drr-u', 'drr-ave', 'mf-greedy', 'popularity', 'random'] as const;
export type SimulatePolicyId = (typeof SIMULATE_POLICIES)[number];

export interface SimulateOptions {
  policies: readonly string[];
  steps: number;
  seed: number;
  /** rating noise of the simulator (default 0) */
  noise?: number;
  fit?: Omit<FitOptions, 'seed'>;
  /** loads a model factory by id (the CLI passes the registry; popularity lives there) */
  factory: (id: string) => ModelFactory;
}

export interface SimulateResult {
  dataset: string;
  users: number;
  steps: number;
  seed: number;
  /** mean cumulative reward per held-out user, and the share of steps that found a liked item */
  policies: Record<string, { meanReturn: number; positiveRate: number; trainSeconds: number }>;
}

/** A TrainedModel as a StatePolicy: the state's items are its history (oldest first). */
function modelPolicy(model: TrainedModel): StatePolicy {
  return {
    name: model.id,
    async scoreStates(users, states) {
      const n = states.length / users.length;
      const histories = Array.from(users, (_, b) => states.subarray(b * n, (b + 1) * n).filter((i) => i !== STATE_PADDING));
      return model.scoreBatch(users, histories);
    },
  };
}

function randomPolicy(nItems: number, seed: number): StatePolicy {
  const rng = new Rng(seed);
  return {
    name: 'random',
    async scoreStates(users) {
      const out = new Float32Array(users.length * nItems);
      for (let k = 0; k < out.length; k++) out[k] = rng.next();
      return out;
    },
  };
}

export async function simulate(dataset: Dataset, options: SimulateOptions): Promise<SimulateResult> {
  for (const p of options.policies) {
    if (!(SIMULATE_POLICIES as readonly string[]).includes(p)) {
      throw new TastemakerError('INVALID_ARGUMENT', `Unknown policy ${JSON.stringify(p)}. Valid: ${SIMULATE_POLICIES.join(', ')}.`, { got: p, valid: SIMULATE_POLICIES });
    }
  }
  const split = drrUsersSplit(dataset);
  if (split.test.kind !== 'ranking') throw new TastemakerError('INTERNAL', 'drr-users must produce a ranking test');
  const heldOut = split.test.users;
  const simulator = trainPmf(dataset.interactions, dataset.users.size, dataset.items.size, PMF_DEFAULTS, options.seed);
  // each held-out user starts from the state the split gave them: their positives in the train part
  const initial = new Map<number, Int32Array>();
  const { user, item, value } = split.train.dataset.interactions;
  const timestamps = split.train.dataset.interactions.timestamp;
  const rowsOf = new Map<number, number[]>();
  const held = new Set(heldOut);
  for (let r = 0; r < user.length; r++) {
    const u = user[r]!;
    if (!held.has(u) || value[r]! < 4) continue;
    let list = rowsOf.get(u);
    if (list === undefined) rowsOf.set(u, (list = []));
    list.push(r);
  }
  for (const u of heldOut) {
    const rows = (rowsOf.get(u) ?? []).sort((a, b) => timestamps[a]! - timestamps[b]! || a - b);
    initial.set(u, Int32Array.from(rows, (r) => item[r]!));
  }
  const env = new MfEnv(simulator, initial, { maxSteps: options.steps, noise: options.noise ?? 0, seed: options.seed });
  const result: SimulateResult = { dataset: dataset.name, users: heldOut.length, steps: options.steps, seed: options.seed, policies: {} };
  for (const id of options.policies) {
    const t0 = performance.now();
    let policy: StatePolicy;
    let model: TrainedModel | undefined;
    if (id === 'random') policy = randomPolicy(dataset.items.size, options.seed);
    else {
      const factory = (STATE_MODULES as readonly string[]).includes(id) ? drrModels[id as (typeof STATE_MODULES)[number]] : id === 'mf-greedy' ? mfGreedyModel : options.factory(id);
      model = await factory.fit(split.train, { ...options.fit, seed: options.seed });
      policy = 'scoreStates' in model ? (model as unknown as StatePolicy) : modelPolicy(model);
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    try {
      const r = await rollout(env, policy, heldOut);
      result.policies[id] = { meanReturn: r.meanReturn, positiveRate: r.positiveRate, trainSeconds };
    } finally {
      model?.dispose();
    }
  }
  return result;
}
