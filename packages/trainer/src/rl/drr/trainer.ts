import * as tf from '@tensorflow/tfjs-core';
import { DenseAdam } from '../../engine/dense.js';
import { Rng } from '../../engine/rng.js';
import { sampleUser, STATE_PADDING, type Episode, type RecEnv } from '../env.js';
import { DrrNetworks, ddpgUpdate, type NetworkShape } from './networks.js';
import { PrioritizedReplay } from './replay.js';

/**
 * DRR training (Liu et al., Algorithm 1) with parallel episodes: `envs` users play at once so the
 * actor runs once per step for all of them. Each step: action = actor(state) + Gaussian noise whose
 * standard deviation decays geometrically, recommend the unseen item with the highest action · item
 * score, store the transition in prioritised replay, then `updatesPerStep` DDPG updates.
 */

export interface DrrTrainParams {
  envs: number;
  /** environment steps per parallel episode slot; total transitions = envs · steps */
  steps: number;
  /**
   * items recommended per step (the re-implementation's top-k mode): the unseen items with the
   * listSize highest scores are shown in order, the transition's reward is their mean reward
   */
  listSize: number;
  updatesPerStep: number;
  /** updates that train the critic alone before the actor follows it (an untrained critic's gradient would drag the actor off its start) */
  actorDelay: number;
  /** with the actor's skip connection: weight of the penalty on the squared size of the MLP's correction */
  priorWeight: number;
  batchSize: number;
  gamma: number;
  tau: number;
  actorLr: number;
  criticLr: number;
  noiseStd: number;
  noiseMin: number;
  /** per-step multiplicative decay of the noise standard deviation */
  noiseDecay: number;
  replayCapacity: number;
  /** PER exponents: α for priorities, β annealed from betaStart to 1 over training */
  alpha: number;
  betaStart: number;
}

/** Fixed embeddings the networks read: rows [n, dim], row-major. */
export interface Embeddings {
  dim: number;
  users: Float32Array;
  items: Float32Array;
  nUsers: number;
  nItems: number;
}

/** Stacks user rows [B, dim] and state item rows [B, N·dim]; padding and unknown ids give zero rows. */
export function gatherInputs(emb: Embeddings, users: Int32Array, states: Int32Array, n: number): { user: tf.Tensor2D; items: tf.Tensor2D } {
  const d = emb.dim;
  const b = users.length;
  const u = new Float32Array(b * d);
  const h = new Float32Array(b * n * d);
  for (let j = 0; j < b; j++) {
    const user = users[j]!;
    if (user >= 0 && user < emb.nUsers) u.set(emb.users.subarray(user * d, (user + 1) * d), j * d);
    for (let l = 0; l < n; l++) {
      const item = states[j * n + l]!;
      if (item !== STATE_PADDING && item >= 0 && item < emb.nItems) h.set(emb.items.subarray(item * d, (item + 1) * d), (j * n + l) * d);
    }
  }
  return { user: tf.tensor2d(u, [b, d]), items: tf.tensor2d(h, [b, n * d]) };
}

/** The k unseen items with the highest scores, best first. */
export function topUnseen(scores: Float32Array, k: number, ep: Pick<Episode, 'seen'>): Int32Array {
  const best = new Int32Array(k).fill(-1);
  const bestScore = new Float64Array(k).fill(-Infinity);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (s <= bestScore[k - 1]! || ep.seen(i)) continue;
    let j = k - 1;
    while (j > 0 && bestScore[j - 1]! < s) {
      bestScore[j] = bestScore[j - 1]!;
      best[j] = best[j - 1]!;
      j--;
    }
    bestScore[j] = s;
    best[j] = i;
  }
  return best.filter((i) => i >= 0);
}

export interface TrainLog {
  /** mean reward per step over each block of `logEvery` steps */
  rewardCurve: number[];
  criticLoss: number[];
  episodes: number;
  updates: number;
}

export function trainDrr(
  online: DrrNetworks,
  emb: Embeddings,
  env: RecEnv,
  p: DrrTrainParams,
  seed: number,
  onProgress?: (step: number, info: Record<string, number>) => void,
): TrainLog {
  const rng = new Rng(seed);
  const shape: NetworkShape = online.shape;
  const n = shape.stateSize;
  const d = emb.dim;
  const target = new DrrNetworks(shape, rng.fork());
  target.follow(online, 1);
  const criticOpt = new DenseAdam({ learningRate: p.criticLr });
  const actorOpt = new DenseAdam({ learningRate: p.actorLr });
  const replay = new PrioritizedReplay(p.replayCapacity, n, d, p.alpha);
  const itemsT = tf.tidy(() => tf.transpose(tf.tensor2d(emb.items, [emb.nItems, d])));
  const episodes: Episode[] = [];
  for (let e = 0; e < p.envs; e++) episodes.push(env.reset(sampleUser(env, rng)));
  const log: TrainLog = { rewardCurve: [], criticLoss: [], episodes: 0, updates: 0 };
  const logEvery = Math.max(1, Math.floor(p.steps / 50));
  let rewardSum = 0;
  let rewardCount = 0;
  let lossSum = 0;
  let lossCount = 0;
  let sigma = p.noiseStd;
  const users = new Int32Array(p.envs);
  const states = new Int32Array(p.envs * n);
  const nItems = emb.nItems;
  try {
    for (let step = 0; step < p.steps; step++) {
      episodes.forEach((ep, e) => {
        users[e] = ep.user;
        states.set(ep.state, e * n);
      });
      const { user, items } = gatherInputs(emb, users, states, n);
      const actions = tf.tidy(() => online.act(user, items).dataSync() as Float32Array).slice();
      user.dispose();
      items.dispose();
      // exploration: Gaussian noise on the direction, renormalised to unit length
      for (let e = 0; e < p.envs; e++) {
        let norm = 0;
        for (let k = e * d; k < (e + 1) * d; k++) {
          actions[k] = actions[k]! + sigma * rng.normal();
          norm += actions[k]! * actions[k]!;
        }
        norm = Math.sqrt(norm) + 1e-8;
        for (let k = e * d; k < (e + 1) * d; k++) actions[k] = actions[k]! / norm;
      }
      const scores = tf.tidy(() => tf.matMul(tf.tensor2d(actions, [p.envs, d]), itemsT).dataSync() as Float32Array);
      for (let e = 0; e < p.envs; e++) {
        const ep = episodes[e]!;
        const list = topUnseen(scores.subarray(e * nItems, (e + 1) * nItems), p.listSize, ep);
        const before = ep.state.slice();
        let reward = 0;
        let shown = 0;
        for (const item of list) {
          reward += ep.step(item).reward;
          shown++;
          if (ep.done) break;
        }
        reward /= Math.max(1, shown);
        replay.add(ep.user, before, actions.subarray(e * d, (e + 1) * d), reward, ep.state, ep.done);
        rewardSum += reward;
        rewardCount++;
        if (ep.done) {
          log.episodes++;
          episodes[e] = env.reset(sampleUser(env, rng));
        }
      }
      sigma = Math.max(p.noiseMin, sigma * p.noiseDecay);
      if (replay.size >= p.batchSize) {
        const beta = p.betaStart + (1 - p.betaStart) * (step / p.steps);
        for (let k = 0; k < p.updatesPerStep; k++) {
          const batch = replay.sample(p.batchSize, beta, rng);
          const cur = gatherInputs(emb, batch.users, batch.states, n);
          const next = gatherInputs(emb, batch.users, batch.nextStates, n);
          const actionsT = tf.tensor2d(batch.actions, [p.batchSize, d]);
          try {
            const res = ddpgUpdate(
              online,
              target,
              criticOpt,
              actorOpt,
              { users: cur.user, states: cur.items, actions: actionsT, nextStates: next.items, rewards: batch.rewards, dones: batch.dones, weights: batch.weights },
              p.gamma,
              p.tau,
              log.updates >= p.actorDelay,
              online.shape.skip ? p.priorWeight : 0,
            );
            replay.update(batch.slots, res.tdErrors);
            lossSum += res.criticLoss;
            lossCount++;
            log.updates++;
          } finally {
            cur.user.dispose();
            cur.items.dispose();
            next.user.dispose();
            next.items.dispose();
            actionsT.dispose();
          }
        }
      }
      if ((step + 1) % logEvery === 0) {
        log.rewardCurve.push(rewardSum / Math.max(1, rewardCount));
        log.criticLoss.push(lossSum / Math.max(1, lossCount));
        onProgress?.(step + 1, { reward: rewardSum / Math.max(1, rewardCount), criticLoss: lossSum / Math.max(1, lossCount), sigma });
        rewardSum = rewardCount = lossSum = lossCount = 0;
      }
    }
  } finally {
    itemsT.dispose();
    target.dispose();
    criticOpt.dispose();
    actorOpt.dispose();
  }
  return log;
}
