import { TastemakerError } from '@tastemaker/core';
import { checkRules, EpisodeBase, ratingReward, type Episode, type EpisodeRules, type RecEnv } from './env.js';
import { positiveItems, type UserTimelines } from './timelines.js';

export interface RatingEnvOptions {
  /** items in the state (DRR: N = 10) */
  stateSize?: number;
  /** a rating at or above this is a positive (default 4) */
  positiveThreshold?: number;
  /** reward of an item the user did not rate, and of a repeat (default −0.5) */
  unratedPenalty?: number;
  /** episode length cap (default 100) */
  maxSteps?: number;
}

export const RATING_ENV_DEFAULTS = { stateSize: 10, positiveThreshold: 4, unratedPenalty: -0.5, maxSteps: 100 } as const;

/**
 * The offline environment of the DRR re-implementation on MovieLens: an episode replays one user's
 * real ratings. It starts from the user's first `stateSize` positively rated items (by time);
 * recommending an item the user rated earns (rating − 3) / 2, an unrated item or a repeat earns the
 * penalty; a positive pushes the oldest item out of the state. The episode ends when every positive
 * item of the user has been recommended or at the step cap. Only users with more positives than
 * `stateSize` can start an episode (otherwise there is nothing left to find). Deterministic: the
 * randomness is in which user an agent resets to (see sampleUser).
 */
export class RatingEnv implements RecEnv {
  readonly name = 'rating-env';
  readonly users: Int32Array;
  readonly stateSize: number;
  readonly positiveThreshold: number;
  private readonly rules: EpisodeRules;
  private readonly positives: Int32Array[];
  private readonly rated: Map<number, number>[] = [];

  constructor(
    private readonly timelines: UserTimelines,
    readonly nItems: number,
    options: RatingEnvOptions = {},
  ) {
    this.stateSize = options.stateSize ?? RATING_ENV_DEFAULTS.stateSize;
    this.positiveThreshold = options.positiveThreshold ?? RATING_ENV_DEFAULTS.positiveThreshold;
    this.rules = {
      stateSize: this.stateSize,
      maxSteps: options.maxSteps ?? RATING_ENV_DEFAULTS.maxSteps,
      unratedPenalty: options.unratedPenalty ?? RATING_ENV_DEFAULTS.unratedPenalty,
    };
    checkRules(this.name, this.rules);
    if (!Number.isFinite(this.positiveThreshold)) throw new TastemakerError('INVALID_CONFIG', `${this.name}: positiveThreshold must be a number`);
    this.positives = timelines.items.map((items, u) => positiveItems(items, timelines.ratings[u]!, this.positiveThreshold));
    const users: number[] = [];
    this.positives.forEach((p, u) => {
      if (p.length > this.stateSize) users.push(u);
    });
    this.users = Int32Array.from(users);
  }

  /** user u's ratings by item (built on first use: most users never start an episode) */
  private ratingsOf(u: number): Map<number, number> {
    let m = this.rated[u];
    if (m === undefined) {
      m = new Map();
      const items = this.timelines.items[u]!;
      const ratings = this.timelines.ratings[u]!;
      for (let j = 0; j < items.length; j++) m.set(items[j]!, ratings[j]!);
      this.rated[u] = m;
    }
    return m;
  }

  reset(user: number): Episode {
    const positives = this.positives[user];
    if (positives === undefined) throw new TastemakerError('INVALID_ARGUMENT', `${this.name}: user index ${user} outside [0, ${this.positives.length})`);
    return new RatingEpisode(user, positives.subarray(0, this.stateSize), this.rules, this.ratingsOf(user), positives.length - Math.min(positives.length, this.stateSize), this.positiveThreshold);
  }
}

class RatingEpisode extends EpisodeBase {
  constructor(
    user: number,
    initial: Int32Array,
    rules: EpisodeRules,
    private readonly ratings: Map<number, number>,
    private remainingPositives: number,
    private readonly threshold: number,
  ) {
    super(user, initial, rules);
  }

  protected judge(item: number): { reward: number; positive: boolean } | undefined {
    const r = this.ratings.get(item);
    if (r === undefined) return undefined;
    const positive = r >= this.threshold;
    if (positive) this.remainingPositives--;
    return { reward: ratingReward(r), positive };
  }

  protected exhausted(): boolean {
    return this.remainingPositives <= 0;
  }
}
