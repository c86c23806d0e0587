import { LinUcbPolicy, TastemakerError } from '@tastemaker/core';
import type { Dataset } from '../data/dataset.js';
import { Rng } from '../engine/rng.js';
import { drrUsersSplit } from '../eval/drr-users.js';
import type { FitOptions, ModelFactory, TrainedModel } from '../models/types.js';
import { blockCurve, type LearningCurve } from './curves/index.js';
import { DrrModel, drrModels, STATE_MODULES } from './drr/index.js';
import { dqnModel } from './dqn/index.js';
import { reinforceModel } from './reinforce/index.js';
import { STATE_PADDING } from './env.js';
import { MfEnv } from './mf-env.js';
import { mfGreedyModel } from './mf-greedy.js';
import { PMF_DEFAULTS, trainPmf, type PmfFactors } from './pmf.js';
import { rollout, type StatePolicy } from './rollout.js';

/**
 * `tastemaker simulate`: policies trained on the drr-users train part play episodes against an MF
 * simulator of the held-out users. The simulator is a PMF fitted on every rating of every user (it
 * stands in for the real users, so it may know their future); each held-out user's episode starts
 * from their first 10 positive items, and the policy's cumulative reward over `steps` steps is
 * averaged over the held-out users.
 */

export const SIMULATE_POLICIES = ['drr-n', 'drr-p', 'drr-u', 'drr-ave', 'dqn', 'reinforce', 'linucb', 'mf-greedy', 'popularity', 'random'] as const;
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
  /** reward during training of each trained RL policy (drr-*, dqn, reinforce) */
  curves: LearningCurve[];
}

/** LinUCB simulation settings: candidates per step (by the PMF's predicted rating), exploration width. */
export const LINUCB_SIM = { candidates: 100, alpha: 0.2, lambda: 1 } as const;

/**
 * LinUCB (packages/core's LinUcbPolicy, shared mode, product features) learning online during the
 * simulation: x = [1, u ⊙ v] with u = [P_u, 1] and v = [Q_i, b_i] from a PMF fitted on the train
 * part (so θ = 1 reproduces the PMF's ranking up to the user bias), one model shared by all
 * held-out users and updated after every step. Each step it picks among the `candidates` unseen
 * items the PMF rates highest (the UCB over the whole catalogue would cost |items| quadratic forms).
 */
function linUcbPolicy(pmf: PmfFactors): StatePolicy {
  const d = pmf.dim + 1;
  const linucb = new LinUcbPolicy({ mode: 'shared', features: 'product', dim: d, alpha: LINUCB_SIM.alpha, lambda: LINUCB_SIM.lambda });
  const userVec = (u: number) => {
    const v = new Float32Array(d);
    v.set(pmf.userFactors.subarray(u * pmf.dim, (u + 1) * pmf.dim));
    v[pmf.dim] = 1;
    return v;
  };
  const itemVec = (i: number) => {
    const v = new Float32Array(d);
    v.set(pmf.itemFactors.subarray(i * pmf.dim, (i + 1) * pmf.dim));
    v[pmf.dim] = pmf.itemBias[i]!;
    return v;
  };
  const items = Array.from({ length: pmf.nItems }, (_, i) => itemVec(i));
  const seen = new Map<number, Set<number>>();
  return {
    name: 'linucb',
    beginEpisodes() {
      seen.clear();
    },
    async scoreStates(users, states) {
      const n = pmf.nItems;
      const per = states.length / users.length;
      const out = new Float32Array(users.length * n);
      for (let b = 0; b < users.length; b++) {
        const u = users[b]!;
        const uv = userVec(u);
        const mine = seen.get(u) ?? new Set<number>();
        for (let t = 0; t < per; t++) mine.add(states[b * per + t]!);
        // below every candidate, in PMF order, so a fallback is still sensible
        const base = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          let s = pmf.itemBias[i]!;
          for (let k = 0; k < pmf.dim; k++) s += uv[k]! * items[i]![k]!;
          base[i] = s;
          out[b * n + i] = -1e6 + s;
        }
        const order = Array.from({ length: n }, (_, i) => i)
          .filter((i) => !mine.has(i))
          .sort((x, y) => base[y]! - base[x]! || x - y)
          .slice(0, LINUCB_SIM.candidates);
        for (const i of order) out[b * n + i] = linucb.upperBound('shared', linucb.contextVector(uv, items[i]));
      }
      return out;
    },
    observe(users, chosen, rewards) {
      for (let b = 0; b < users.length; b++) {
        const u = users[b]!;
        let mine = seen.get(u);
        if (mine === undefined) seen.set(u, (mine = new Set()));
        mine.add(chosen[b]!);
        linucb.update({ itemId: String(chosen[b]), trial: 1, reward: rewards[b]!, userFeatures: userVec(u), itemFeatures: items[chosen[b]!] });
      }
    },
  };
}

/** The learning curve a trained model recorded, if it is an RL policy. */
function curveOf(id: string, model: TrainedModel | undefined): LearningCurve | undefined {
  if (model instanceof DrrModel) return blockCurve(id, model.log.rewardCurve, 'block of training steps', 50);
  const m = model as { learningCurve?: () => LearningCurve } | undefined;
  return m?.learningCurve?.();
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
  const result: SimulateResult = { dataset: dataset.name, users: heldOut.length, steps: options.steps, seed: options.seed, policies: {}, curves: [] };
  for (const id of options.policies) {
    const t0 = performance.now();
    let policy: StatePolicy;
    let model: TrainedModel | undefined;
    if (id === 'random') policy = randomPolicy(dataset.items.size, options.seed);
    else if (id === 'linucb') {
      const d = split.train.dataset;
      policy = linUcbPolicy(trainPmf(d.interactions, d.users.size, d.items.size, PMF_DEFAULTS, options.seed));
    } else {
      const factory = (STATE_MODULES as readonly string[]).includes(id)
        ? drrModels[id as (typeof STATE_MODULES)[number]]
        : id === 'mf-greedy'
          ? mfGreedyModel
          : id === 'dqn'
            ? dqnModel
            : id === 'reinforce'
              ? reinforceModel
              : options.factory(id);
      model = await factory.fit(split.train, { ...options.fit, seed: options.seed });
      policy = 'scoreStates' in model ? (model as unknown as StatePolicy) : modelPolicy(model);
      const curve = curveOf(id, model);
      if (curve !== undefined) result.curves.push(curve);
      // the DQN's checkpoint is chosen on validation train users: their curve shows what training added
      const validation = (model as { validationCurve?: () => LearningCurve | undefined }).validationCurve?.();
      if (validation !== undefined) result.curves.push(validation);
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
