import { TastemakerError, type LoggedSlate } from '@tastemaker/core';
import type { Rng } from '../../engine/rng.js';
import { STATE_PADDING, type RecEnv } from '../env.js';
import { discountedReturns } from './correction.js';

/**
 * Logged impressions REINFORCE learns from: what was shown in which state, with the probability the
 * logging (behaviour) policy gave it, and the reward and discounted return that followed. Two
 * sources: a behaviour policy playing a simulator (`logSimulator`), and the serving loop's
 * recommendation log (`loggedStepsFromStore`).
 */

export interface LoggedStep {
  /** user index, or −1 when unknown (a served user not in the training data) */
  user: number;
  /** the last N liked items before the impression, oldest first, STATE_PADDING in front */
  state: Int32Array;
  item: number;
  /** β(item | state): the logging policy's probability of showing it (must be > 0) */
  propensity: number;
  reward: number;
  /** discounted return from this step on */
  ret: number;
}

/**
 * Behaviour policy "popularity with noise": β(a|s) ∝ (count_a + 1)^(1/temperature) over the items
 * not seen in the episode, sampled, so every logged item has an exact propensity. A higher
 * temperature explores more.
 */
export function popularityBehaviour(counts: ArrayLike<number>, temperature: number): Float64Array {
  if (!(temperature > 0)) throw new TastemakerError('INVALID_CONFIG', `behaviour temperature must be > 0, got ${temperature}`);
  return Float64Array.from({ length: counts.length }, (_, i) => Math.pow(counts[i]! + 1, 1 / temperature));
}

/**
 * Plays one episode per user with the behaviour weights (sampling among unseen items) and logs
 * every step with its propensity and discounted return.
 */
export function logSimulator(env: RecEnv, users: Int32Array, weights: Float64Array, gamma: number, rng: Rng): LoggedStep[] {
  const out: LoggedStep[] = [];
  let total = 0;
  for (const w of weights) total += w;
  for (const u of users) {
    const ep = env.reset(u);
    const steps: LoggedStep[] = [];
    const rewards: number[] = [];
    // mass of the seen items, removed from the normaliser
    let seenMass = 0;
    for (let i = 0; i < weights.length; i++) if (ep.seen(i)) seenMass += weights[i]!;
    while (!ep.done) {
      const mass = total - seenMass;
      let x = rng.next() * mass;
      let item = -1;
      for (let i = 0; i < weights.length; i++) {
        if (ep.seen(i)) continue;
        x -= weights[i]!;
        item = i;
        if (x <= 0) break;
      }
      if (item < 0) break;
      const state = ep.state.slice();
      const r = ep.step(item);
      seenMass += weights[item]!;
      steps.push({ user: u, state, item, propensity: weights[item]! / mass, reward: r.reward, ret: 0 });
      rewards.push(r.reward);
    }
    const g = discountedReturns(rewards, gamma);
    steps.forEach((s, t) => (s.ret = g[t]!));
    out.push(...steps);
  }
  return out;
}

/** One served recommendation with its impressions (rewards attributed by the store): core's `Store.listRecommendations` entries. */
export type LoggedRecommendation = LoggedSlate;

/**
 * Adapter from the serving loop's log (core's store: a RecommendationRecord per served slate, an
 * ImpressionRecord per shown item with its propensity and attributed reward) to LoggedSteps.
 * A user's recommendations are replayed in time order; the state of a slate is the last `stateSize`
 * items with a positive reward in that user's earlier slates; the return of an impression is its
 * reward plus γ times the return of the user's next slate (the sum of that slate's rewards,
 * discounted onwards). Items unknown to `itemIndex` are skipped (counted in `skipped`); an
 * impression with a propensity outside (0, 1] is an error.
 */
export function loggedStepsFromStore(
  records: readonly LoggedRecommendation[],
  itemIndex: ReadonlyMap<string, number>,
  options: { stateSize: number; gamma: number; userIndex?: ReadonlyMap<string, number> },
): { steps: LoggedStep[]; skipped: number } {
  const byUser = new Map<string, LoggedRecommendation[]>();
  for (const r of records) {
    const key = r.recommendation.userId ?? `anonymous:${r.recommendation.recommId}`;
    let list = byUser.get(key);
    if (list === undefined) byUser.set(key, (list = []));
    list.push(r);
  }
  const steps: LoggedStep[] = [];
  let skipped = 0;
  const n = options.stateSize;
  for (const [userId, list] of byUser) {
    list.sort((a, b) => a.recommendation.createdAt - b.recommendation.createdAt || (a.recommendation.recommId < b.recommendation.recommId ? -1 : 1));
    const user = options.userIndex?.get(userId) ?? -1;
    const state = new Int32Array(n).fill(STATE_PADDING);
    const slates: LoggedStep[][] = [];
    const slateRewards: number[] = [];
    for (const { recommendation, impressions } of list) {
      const here: LoggedStep[] = [];
      const liked: number[] = [];
      let sum = 0;
      for (const imp of [...impressions].sort((a, b) => a.position - b.position)) {
        if (!(imp.propensity > 0 && imp.propensity <= 1)) {
          throw new TastemakerError('INVALID_ARGUMENT', `impression ${recommendation.recommId}/${imp.itemId} has propensity ${imp.propensity}; REINFORCE needs one in (0, 1]`, { recommId: recommendation.recommId, itemId: imp.itemId });
        }
        const item = itemIndex.get(imp.itemId);
        if (item === undefined) {
          skipped++;
          continue;
        }
        const reward = imp.reward ?? 0;
        sum += reward;
        here.push({ user, state: state.slice(), item, propensity: imp.propensity, reward, ret: reward });
        if (reward > 0) liked.push(item);
      }
      for (const i of liked) {
        state.copyWithin(0, 1);
        state[n - 1] = i;
      }
      slates.push(here);
      slateRewards.push(sum);
    }
    const g = discountedReturns(slateRewards, options.gamma);
    slates.forEach((here, k) => {
      const later = k + 1 < g.length ? g[k + 1]! : 0;
      for (const s of here) s.ret = s.reward + options.gamma * later;
      steps.push(...here);
    });
  }
  return { steps, skipped };
}
