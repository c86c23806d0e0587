import { TastemakerError } from '@tastemaker/core';
import { Rng } from '../engine/rng.js';
import { checkRules, EpisodeBase, ratingReward, type Episode, type EpisodeRules, type RecEnv } from './env.js';
import { pmfPredict, type PmfFactors } from './pmf.js';

export interface MfEnvOptions {
  stateSize?: number;
  /** a simulated rating at or above this is a positive (default 4) */
  positiveThreshold?: number;
  /** reward of a repeat (every other item has a simulated rating; default −0.5) */
  unratedPenalty?: number;
  /** episode length (default 20) */
  maxSteps?: number;
  /** standard deviation of Gaussian noise added to each simulated rating (default 0: the plain MF prediction) */
  noise?: number;
  /** seeds the rating noise; an episode's noise depends only on (seed, user, item) */
  seed?: number;
}

export const MF_ENV_DEFAULTS = { stateSize: 10, positiveThreshold: 4, unratedPenalty: -0.5, maxSteps: 20, noise: 0, seed: 42 } as const;

/**
 * A simulated user built from a rating MF (PMF) trained on all of the data: every item has a
 * predicted rating, clipped to [1, 5], so a policy can be scored on items the user never rated.
 * Reward = (rating − 3) / 2; a rating ≥ positiveThreshold counts as liked and enters the state.
 * The initial state is given by the caller (the user's earliest real positives); the episode ends
 * at the step cap or when every item has been recommended. With noise > 0 the rating of (user,
 * item) is perturbed by a draw that depends only on (seed, user, item), so two policies recommending
 * the same item to the same user see the same rating and runs are reproducible.
 */
export class MfEnv implements RecEnv {
  readonly name = 'mf-env';
  readonly nItems: number;
  readonly stateSize: number;
  readonly users: Int32Array;
  private readonly rules: EpisodeRules;
  private readonly threshold: number;
  private readonly noise: number;
  private readonly seed: number;

  constructor(
    private readonly mf: PmfFactors,
    private readonly initialStates: ReadonlyMap<number, Int32Array>,
    options: MfEnvOptions = {},
  ) {
    this.nItems = mf.nItems;
    this.stateSize = options.stateSize ?? MF_ENV_DEFAULTS.stateSize;
    this.threshold = options.positiveThreshold ?? MF_ENV_DEFAULTS.positiveThreshold;
    this.noise = options.noise ?? MF_ENV_DEFAULTS.noise;
    this.seed = options.seed ?? MF_ENV_DEFAULTS.seed;
    this.rules = {
      stateSize: this.stateSize,
      maxSteps: options.maxSteps ?? MF_ENV_DEFAULTS.maxSteps,
      unratedPenalty: options.unratedPenalty ?? MF_ENV_DEFAULTS.unratedPenalty,
    };
    checkRules(this.name, this.rules);
    if (!(this.noise >= 0)) throw new TastemakerError('INVALID_CONFIG', `${this.name}: noise must be ≥ 0, got ${this.noise}`);
    this.users = Int32Array.from([...initialStates.keys()].sort((a, b) => a - b));
    for (const u of this.users) {
      if (u < 0 || u >= mf.nUsers) throw new TastemakerError('INVALID_ARGUMENT', `${this.name}: user index ${u} outside [0, ${mf.nUsers})`);
    }
  }

  /** The simulated rating, in [1, 5]. */
  rating(user: number, item: number): number {
    let r = pmfPredict(this.mf, user, item);
    if (this.noise > 0) {
      // one generator per (seed, user, item): the draw cannot depend on what was recommended before
      const g = new Rng((Math.imul(this.seed, 0x9e3779b1) ^ Math.imul(user + 1, 0x85ebca6b) ^ Math.imul(item + 1, 0xc2b2ae35)) >>> 0);
      r += this.noise * g.normal();
    }
    return Math.min(5, Math.max(1, r));
  }

  reset(user: number): Episode {
    const initial = this.initialStates.get(user);
    if (initial === undefined) throw new TastemakerError('INVALID_ARGUMENT', `${this.name}: user ${user} has no initial state`);
    return new MfEpisode(user, initial, this.rules, this, this.threshold);
  }
}

class MfEpisode extends EpisodeBase {
  constructor(
    user: number,
    initial: Int32Array,
    rules: EpisodeRules,
    private readonly env: MfEnv,
    private readonly threshold: number,
  ) {
    super(user, initial, rules);
  }

  protected judge(item: number): { reward: number; positive: boolean } {
    const r = this.env.rating(this.user, item);
    return { reward: ratingReward(r), positive: r >= this.threshold };
  }

  protected exhausted(): boolean {
    return this.seenItems.size >= this.env.nItems;
  }
}
