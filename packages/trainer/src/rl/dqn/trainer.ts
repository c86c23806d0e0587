import { Rng } from '../../engine/rng.js';
import { ArrayAdam } from '../../models/kgcn/array-adam.js';
import { PrioritizedReplay } from '../drr/replay.js';
import { sampleUser, STATE_PADDING, type Episode, type RecEnv } from '../env.js';
import type { QNetwork } from './q-network.js';

/**
 * Deep Q-learning for the recommendation MDP with negative feedback: `envs` episodes run side by
 * side; each step every episode recommends one item, ε-greedy (a uniformly random unseen item with
 * probability ε, else the unseen item of highest Q), ε decaying geometrically per step. A
 * recommended item the user does not like is appended to the episode's skip sequence, the second
 * half of the DQN state. Transitions go to the prioritised replay of rl/drr (the state slot holds
 * both sequences, the action slot the item index); each update draws a batch and regresses Q(s, a)
 * on the double-DQN target r + γ·Q_target(s', argmax_a' Q(s', a')) (a' over items outside s') with
 * the Huber loss, weighted by the replay's importance weights. The target network follows the
 * online one softly (τ per update) or by a copy every `targetEvery` updates.
 *
 * With a `validate` hook the greedy return on validation users (train users kept out of the
 * training episodes) is measured before the first update and every `validateEvery` steps; the
 * parameters that scored best (the untrained ones included) are restored at the end, so training
 * can never leave the policy worse than it started on validation — Q-learning on a simulator drifts,
 * and the last step is not the best one.
 */

export interface DqnTrainParams {
  envs: number;
  steps: number;
  batchSize: number;
  updatesPerStep: number;
  /** transitions in replay before the first update */
  warmup: number;
  gamma: number;
  /** soft target update rate per update (ignored when targetEvery > 0) */
  tau: number;
  /** copy the online network to the target every this many updates (0: soft updates) */
  targetEvery: number;
  lr: number;
  epsStart: number;
  epsMin: number;
  epsDecay: number;
  replayCapacity: number;
  alpha: number;
  betaStart: number;
}

export interface DqnLog {
  /** undiscounted return of every finished training episode, in finishing order */
  episodeReturns: number[];
  /** steps of every finished training episode */
  episodeSteps: number[];
  /** mean Huber loss over each block of updates */
  lossCurve: number[];
  updates: number;
  episodes: number;
  /** [training step, validation return] of every validation (step 0: before any update) */
  validation: [number, number][];
  /** the training step whose parameters were kept (the last step without validation) */
  keptStep: number;
}

/** Optional parts of a training run. */
export interface DqnTrainHooks {
  onProgress?: (step: number, info: { reward: number; loss: number; epsilon: number }) => void;
  belief?: { prior: PriorFn; memory: RewardMemory };
  /** the skip window an episode of `user` starts with (default: empty), as an evaluation episode would */
  initialSkips?: (user: number) => Int32Array | undefined;
  /** mean greedy return of the current online network on validation users (higher is better) */
  validate?: () => Promise<number>;
  /** training steps between validations (default: steps / 16) */
  validateEvery?: number;
  /** false: validate but keep the last parameters (to measure what checkpoint selection buys) */
  keepBest?: boolean;
}

/**
 * φ₀ for a batch of states (rl/dqn/belief.ts), [rows, outDim]; reads the rewards the agent has
 * observed (RewardMemory).
 */
export type PriorFn = (users: Int32Array, states: Int32Array) => Float32Array;

/** Rewards observed per (user, item): what the belief knows about items in a state. */
export class RewardMemory {
  private readonly m = new Map<number, number>();
  constructor(readonly nItems: number) {}
  set(user: number, item: number, reward: number): void {
    this.m.set(user * this.nItems + item, reward);
  }
  get(user: number, item: number): number | undefined {
    return this.m.get(user * this.nItems + item);
  }
  clear(): void {
    this.m.clear();
  }
}

/** The DQN state of an episode: its liked items then its skipped items, each N long, oldest first. */
export function dqnState(ep: Episode, skips: Int32Array, out: Int32Array, offset = 0): void {
  out.set(ep.state, offset);
  out.set(skips, offset + ep.state.length);
}

/** Appends `item` to a padded, oldest-first window (dropping the oldest when full). */
export function pushWindow(window: Int32Array, item: number): void {
  window.copyWithin(0, 1);
  window[window.length - 1] = item;
}

/** Index of the highest score whose item passes `allowed`, or −1. */
export function argmaxAllowed(scores: Float32Array, offset: number, n: number, allowed: (i: number) => boolean): number {
  let best = -1;
  let bestScore = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = scores[offset + i]!;
    if (v > bestScore && allowed(i)) {
      bestScore = v;
      best = i;
    }
  }
  return best;
}

function huberGrad(td: number): number {
  return Math.max(-1, Math.min(1, td));
}

/**
 * One gradient step on a replayed batch; returns the mean Huber loss and writes the TD errors
 * (for the priorities) into `td`.
 */
export function dqnUpdate(
  online: QNetwork,
  target: QNetwork,
  adam: ArrayAdam,
  batch: { users: Int32Array; states: Int32Array; actions: Float32Array; rewards: Float32Array; nextStates: Int32Array; dones: Float32Array; weights: Float32Array },
  gamma: number,
  td: Float32Array,
  prior?: PriorFn,
): number {
  const rows = batch.rewards.length;
  const N2 = 2 * online.shape.seqLen;
  const D = online.outDim;
  const nItems = online.nItems;
  // double DQN: the online network picks the next action, the target network values it
  const nextPrior = prior?.(batch.users, batch.nextStates);
  const statePrior = prior?.(batch.users, batch.states);
  const nextOnline = online.qAll(online.phiBatch(batch.nextStates, nextPrior), rows);
  const phiTarget = target.phiBatch(batch.nextStates, nextPrior);
  const grad = new Float32Array(online.params.length);
  const phi = new Float32Array(D);
  const tape = online.newTape();
  let loss = 0;
  for (let b = 0; b < rows; b++) {
    let y = batch.rewards[b]!;
    if (batch.dones[b]! === 0) {
      const inState = new Set<number>();
      for (let t = 0; t < N2; t++) {
        const i = batch.nextStates[b * N2 + t]!;
        if (i !== STATE_PADDING) inState.add(i);
      }
      const a2 = argmaxAllowed(nextOnline, b * nItems, nItems, (i) => !inState.has(i));
      if (a2 >= 0) y += gamma * target.q(phiTarget, b * D, a2);
    }
    const a = batch.actions[b]!;
    online.phi(batch.states, b, phi, 0, tape, statePrior, b * D);
    const err = y - online.q(phi, 0, a);
    td[b] = err;
    const abs = Math.abs(err);
    loss += batch.weights[b]! * (abs <= 1 ? 0.5 * err * err : abs - 0.5);
    // d(Huber)/dQ = −clip(err, ±1)
    online.backward(tape, a, (-batch.weights[b]! * huberGrad(err)) / rows, grad);
  }
  adam.step(grad);
  return loss / rows;
}

export async function trainDqn(online: QNetwork, target: QNetwork, env: RecEnv, p: DqnTrainParams, seed: number, hooks: DqnTrainHooks = {}): Promise<DqnLog> {
  const { onProgress, belief, initialSkips, validate } = hooks;
  const rng = new Rng(seed);
  const N = online.shape.seqLen;
  const nItems = online.nItems;
  const replay = new PrioritizedReplay(p.replayCapacity, 2 * N, 1, p.alpha);
  const adam = new ArrayAdam(online.params, p.lr);
  target.softUpdateFrom(online, 1);
  const log: DqnLog = { episodeReturns: [], episodeSteps: [], lossCurve: [], updates: 0, episodes: 0, validation: [], keptStep: p.steps };
  const episodes: Episode[] = [];
  const skips: Int32Array[] = [];
  const returns = new Float64Array(p.envs);
  const startSkips = (user: number, window: Int32Array) => {
    window.fill(STATE_PADDING);
    const w = initialSkips?.(user);
    if (w !== undefined) window.set(w.subarray(Math.max(0, w.length - N)), N - Math.min(N, w.length));
  };
  for (let j = 0; j < p.envs; j++) {
    episodes.push(env.reset(sampleUser(env, rng)));
    const w = new Int32Array(N);
    startSkips(episodes[j]!.user, w);
    skips.push(w);
  }
  const validateEvery = Math.max(1, hooks.validateEvery ?? Math.ceil(p.steps / 16));
  let best = -Infinity;
  let bestParams: Float32Array | undefined;
  const checkpoint = async (step: number) => {
    if (validate === undefined) return;
    const v = await validate();
    log.validation.push([step, v]);
    // ties keep the earlier (less trained) parameters
    if (v > best) {
      best = v;
      bestParams = online.params.slice();
      if (hooks.keepBest !== false) log.keptStep = step;
    }
  };
  await checkpoint(0);
  const states = new Int32Array(p.envs * 2 * N);
  const next = new Int32Array(2 * N);
  const action = new Float32Array(1);
  const td = new Float32Array(p.batchSize);
  const totalUpdates = Math.max(1, p.steps * p.updatesPerStep);
  const logEvery = Math.max(1, Math.floor(p.steps / 50));
  let epsilon = p.epsStart;
  let lossSum = 0;
  let lossCount = 0;
  let rewardSum = 0;
  let rewardCount = 0;
  for (let step = 0; step < p.steps; step++) {
    for (let j = 0; j < p.envs; j++) dqnState(episodes[j]!, skips[j]!, states, j * 2 * N);
    const explore = episodes.map(() => rng.next() < epsilon);
    const greedyRows = explore.flatMap((e, j) => (e ? [] : [j]));
    let scores: Float32Array = new Float32Array(0);
    if (greedyRows.length > 0) {
      const s = new Int32Array(greedyRows.length * 2 * N);
      greedyRows.forEach((j, b) => s.set(states.subarray(j * 2 * N, (j + 1) * 2 * N), b * 2 * N));
      const users = Int32Array.from(greedyRows, (j) => episodes[j]!.user);
      scores = online.qAll(online.phiBatch(s, belief?.prior(users, s)), greedyRows.length);
    }
    for (let j = 0; j < p.envs; j++) {
      const ep = episodes[j]!;
      let item = -1;
      if (explore[j]) {
        // rejection sampling: the unseen items are nearly the whole catalogue
        for (let tries = 0; tries < 100 && item < 0; tries++) {
          const i = rng.int(nItems);
          if (!ep.seen(i)) item = i;
        }
      }
      if (item < 0) {
        const b = greedyRows.indexOf(j);
        if (b >= 0) item = argmaxAllowed(scores, b * nItems, nItems, (i) => !ep.seen(i));
        else for (let i = 0; i < nItems && item < 0; i++) if (!ep.seen(i)) item = i;
      }
      const r = ep.step(item);
      belief?.memory.set(ep.user, item, r.reward);
      returns[j] = returns[j]! + r.reward;
      rewardSum += r.reward;
      rewardCount++;
      if (!r.positive) pushWindow(skips[j]!, item);
      dqnState(ep, skips[j]!, next);
      action[0] = item;
      replay.add(ep.user, states.subarray(j * 2 * N, (j + 1) * 2 * N), action, r.reward, next, r.done);
      if (r.done) {
        log.episodeReturns.push(returns[j]!);
        log.episodeSteps.push(ep.steps);
        log.episodes++;
        returns[j] = 0;
        episodes[j] = env.reset(sampleUser(env, rng));
        startSkips(episodes[j]!.user, skips[j]!);
      }
    }
    epsilon = Math.max(p.epsMin, epsilon * p.epsDecay);
    if (replay.size >= Math.max(p.warmup, p.batchSize)) {
      for (let k = 0; k < p.updatesPerStep; k++) {
        const beta = p.betaStart + (1 - p.betaStart) * Math.min(1, log.updates / totalUpdates);
        const batch = replay.sample(p.batchSize, beta, rng);
        lossSum += dqnUpdate(online, target, adam, batch, p.gamma, td, belief?.prior);
        lossCount++;
        replay.update(batch.slots, td);
        log.updates++;
        if (p.targetEvery > 0) {
          if (log.updates % p.targetEvery === 0) target.softUpdateFrom(online, 1);
        } else target.softUpdateFrom(online, p.tau);
      }
    }
    if ((step + 1) % logEvery === 0 || step === p.steps - 1) {
      if (lossCount > 0) log.lossCurve.push(lossSum / lossCount);
      onProgress?.(step + 1, { reward: rewardSum / Math.max(1, rewardCount), loss: lossCount > 0 ? lossSum / lossCount : Number.NaN, epsilon });
      lossSum = lossCount = rewardSum = rewardCount = 0;
    }
    if ((step + 1) % validateEvery === 0 || step === p.steps - 1) await checkpoint(step + 1);
  }
  if (bestParams !== undefined && hooks.keepBest !== false) {
    online.params.set(bestParams);
    target.softUpdateFrom(online, 1);
  }
  return log;
}
