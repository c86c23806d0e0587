import type { PolicyStateEntry } from '../store/types.js';

export const POLICY_KINDS = ['greedy', 'random', 'epsilon-greedy', 'thompson', 'linucb', 'drr', 'dqn'] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

/** An item the recommender proposes, with its model score and (for contextual policies) its features. */
export interface PolicyCandidate {
  itemId: string;
  score: number;
  /** e.g. the item's embedding */
  features?: Float32Array | undefined;
}

export interface SelectContext {
  /** e.g. the user's embedding */
  userFeatures?: Float32Array | undefined;
  /** the policy's own value of each candidate, computed by its `prepare` (DQN: Q-values) */
  values?: ReadonlyMap<string, number> | undefined;
  /**
   * The caller has checked that the candidates' ids are distinct (the server's candidate cache does,
   * once per entry), so select skips that check; otherwise a repeated id keeps its first occurrence.
   */
  distinct?: boolean | undefined;
}

/** What an asynchronous policy (`prepare`) computed for one request. */
export interface PreparedState {
  /** the state, logged with the recommendation and passed to select as userFeatures */
  userFeatures: Float32Array;
  /** the policy's value of each candidate it could score, passed to select as values */
  values: ReadonlyMap<string, number>;
}

/**
 * One chosen item. `propensity` is the probability that the policy puts this item at this position
 * given the items it put before it; the product over a slate is the slate's probability, which is
 * what inverse-propensity estimators need for off-policy evaluation. Deterministic policies report 1.
 */
export interface RankedItem {
  itemId: string;
  /** the candidate's model score, passed through */
  score: number;
  propensity: number;
  /** 0-based */
  position: number;
}

/**
 * What one event teaches a policy about one shown item: whether it adds a trial (the first feedback
 * on an impression does) and how much reward it adds. An impression's trial and best reward reach
 * the policy once in total, whatever mix of impression, click and purchase events reports them.
 */
export interface Feedback {
  itemId: string;
  trial: 0 | 1;
  reward: number;
  itemFeatures?: Float32Array | undefined;
  userFeatures?: Float32Array | undefined;
}

export interface StateImport {
  loaded: number;
  /** Why stored state was not used (e.g. a feature dimension that no longer matches). */
  skipped?: string;
}

/** Where a policy's background learning stands. */
export interface BackgroundLearningStats {
  /** updates queued or in progress */
  pending: number;
  /** updates run, in total (restored state included) */
  updates: number;
  /** updates dropped because the queue was at its cap */
  dropped: number;
}

/**
 * Learning too costly for the request path (DRR's DDPG updates take milliseconds each): the
 * policy's `update` only queues it, and the OnlineLearner's BackgroundTrainer runs `work` in short
 * slices between requests and persists the policy's state as periodic checkpoints instead of in
 * the events' write.
 */
export interface BackgroundLearning {
  /**
   * Runs queued learning for at most `steps` units of work (the policy defines them, small enough
   * to check the clock between), stopping early once `stop()` returns true. Returns the updates it
   * completed.
   */
  work(steps: number, stop?: () => boolean): number;
  stats(): BackgroundLearningStats;
}

export interface Policy {
  readonly kind: PolicyKind;
  /** Whether select and update read features; callers skip computing them otherwise. */
  readonly usesFeatures: boolean;
  /**
   * Up to k candidates, best first. Candidates with duplicate ids count once. Returns new objects
   * with exactly RankedItem's fields: the server logs and answers them as they are.
   */
  select(candidates: readonly PolicyCandidate[], k: number, context?: SelectContext): RankedItem[];
  /** Learns from one piece of feedback; returns the state keys it changed. */
  update(feedback: Feedback): string[];
  /** Set by policies that learn in the background (see BackgroundLearning); `update` then only queues. */
  readonly background?: BackgroundLearning | undefined;
  /** State entries to persist: those named, or all. */
  exportState(keys?: Iterable<string>): Map<string, PolicyStateEntry>;
  /** Replaces learned state with stored entries (as exportState wrote them). */
  importState(entries: Iterable<readonly [string, PolicyStateEntry]>): StateImport;
  /**
   * Policies that act on a state of their own (RL) build it here from the user and their recent
   * history (oldest first); callers pass it to select as userFeatures and log it with the
   * recommendation, so feedback brings it back to update.
   */
  stateFeatures?(request: { userId?: string | undefined; history: readonly string[] }): Float32Array | undefined;
  /**
   * Policies whose values need a model run (DQN's Q-network) build the state and value the
   * candidates here, before select; callers pass the result to select (userFeatures, values) and log
   * the state. `skipped` is the user's recent negative feedback (skip / dislike events), oldest first.
   */
  prepare?(request: { userId?: string | undefined; history: readonly string[]; skipped: readonly string[]; candidates: readonly string[] }): Promise<PreparedState>;
}

/** Options every policy shares. */
export interface PolicyCommonOptions {
  /**
   * Weight of the candidates' model scores (standardised over the candidate list) added to the
   * policy's own value. 0 (default) uses model scores only to break ties, so with no feedback yet a
   * policy follows the model's order.
   */
  scoreWeight?: number;
}
