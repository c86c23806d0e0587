import { TastemakerError } from '@tastemaker/core';
import type { Rng } from '../engine/rng.js';

/**
 * The recommendation MDP of DRR (Liu et al.): the state is the user's last `stateSize` positively
 * rated items, an action recommends one item, the reward is the user's (real or simulated) rating
 * mapped to [-1, 1], and an item is never rewarded twice in an episode.
 */

/** Marks an empty slot at the front of a state that has fewer than stateSize items. */
export const STATE_PADDING = -1;

export interface StepResult {
  reward: number;
  /** the item counted as liked: the state now ends with it */
  positive: boolean;
  done: boolean;
}

export interface Episode {
  readonly user: number;
  /** the last stateSize liked items, oldest first; STATE_PADDING fills the front when fewer */
  readonly state: Int32Array;
  readonly done: boolean;
  readonly steps: number;
  /** true for items in the initial state or already recommended: recommending them again earns the penalty */
  seen(item: number): boolean;
  step(item: number): StepResult;
}

export interface RecEnv {
  readonly name: string;
  readonly nItems: number;
  readonly stateSize: number;
  /** users an episode may start from */
  readonly users: Int32Array;
  reset(user: number): Episode;
}

/** A seeded draw of the next episode's user, so training runs are reproducible. */
export function sampleUser(env: RecEnv, rng: Rng): number {
  if (env.users.length === 0) throw new TastemakerError('INVALID_ARGUMENT', `${env.name}: no user has enough positive items to start an episode`);
  return env.users[rng.int(env.users.length)]!;
}

/** rating (1–5) → reward in [-1, 1]: 5 → 1, 4 → 0.5, 3 → 0, 1 → −1, as in the DRR re-implementation. */
export function ratingReward(rating: number): number {
  return (rating - 3) / 2;
}

export interface EpisodeRules {
  stateSize: number;
  maxSteps: number;
  /** reward of an unrated item or a repeat */
  unratedPenalty: number;
}

/**
 * The bookkeeping both environments share: the state window, the seen set and the step cap.
 * Subclasses say what an item is worth and whether the episode has run out of things to find.
 */
export abstract class EpisodeBase implements Episode {
  readonly state: Int32Array;
  protected readonly seenItems = new Set<number>();
  private stepCount = 0;
  private finished = false;

  constructor(
    readonly user: number,
    initial: Int32Array,
    protected readonly rules: EpisodeRules,
  ) {
    this.state = new Int32Array(rules.stateSize).fill(STATE_PADDING);
    const take = initial.subarray(Math.max(0, initial.length - rules.stateSize));
    this.state.set(take, rules.stateSize - take.length);
    for (const i of initial) this.seenItems.add(i);
  }

  get done(): boolean {
    return this.finished;
  }

  get steps(): number {
    return this.stepCount;
  }

  seen(item: number): boolean {
    return this.seenItems.has(item);
  }

  step(item: number): StepResult {
    if (this.finished) throw new TastemakerError('INVALID_ARGUMENT', `episode of user ${this.user} is over; reset the environment`);
    let reward = this.rules.unratedPenalty;
    let positive = false;
    if (!this.seenItems.has(item)) {
      const judged = this.judge(item);
      if (judged !== undefined) {
        reward = judged.reward;
        positive = judged.positive;
      }
      this.seenItems.add(item);
    }
    if (positive) {
      this.state.copyWithin(0, 1);
      this.state[this.state.length - 1] = item;
    }
    this.stepCount++;
    this.finished = this.stepCount >= this.rules.maxSteps || this.exhausted();
    return { reward, positive, done: this.finished };
  }

  /** reward of a first recommendation of `item`; undefined = unrated (the penalty applies) */
  protected abstract judge(item: number): { reward: number; positive: boolean } | undefined;
  protected abstract exhausted(): boolean;
}

export function checkRules(env: string, rules: EpisodeRules): void {
  const { stateSize, maxSteps, unratedPenalty } = rules;
  if (!Number.isInteger(stateSize) || stateSize < 1) throw new TastemakerError('INVALID_CONFIG', `${env}: stateSize must be a positive integer, got ${stateSize}`);
  if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new TastemakerError('INVALID_CONFIG', `${env}: maxSteps must be a positive integer, got ${maxSteps}`);
  if (!Number.isFinite(unratedPenalty)) throw new TastemakerError('INVALID_CONFIG', `${env}: unratedPenalty must be a finite number, got ${unratedPenalty}`);
}
