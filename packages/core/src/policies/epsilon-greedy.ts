import type { PolicyStateEntry } from '../store/types.js';
import { ItemCounts } from './counting-state.js';
import { createRng, randomSeed, type Rng } from './rng.js';
import { checkNumber, epsilonGreedySlate, standardisedScores, uniqueCandidates } from './slate.js';
import type { Feedback, Policy, PolicyCandidate, PolicyCommonOptions, RankedItem, SelectContext, StateImport } from './types.js';

export interface EpsilonGreedyOptions extends PolicyCommonOptions {
  /** Probability of a uniformly random pick at each position. Default 0.1. */
  epsilon?: number;
  rng?: Rng;
}

/**
 * ε-greedy over slates: each position is, with probability ε, a uniform pick among the candidates
 * not yet placed, else the best of them by mean observed reward (model score breaking ties, so an
 * item with no feedback ranks as the model ranks it).
 */
export class EpsilonGreedyPolicy implements Policy {
  readonly kind = 'epsilon-greedy' as const;
  readonly usesFeatures = false;
  readonly epsilon: number;
  private readonly scoreWeight: number;
  private readonly rng: Rng;
  private readonly counts = new ItemCounts();

  constructor(options: EpsilonGreedyOptions = {}) {
    this.epsilon = checkNumber('epsilon', options.epsilon ?? 0.1, 0, 1);
    this.scoreWeight = checkNumber('scoreWeight', options.scoreWeight ?? 0, 0);
    this.rng = options.rng ?? createRng(randomSeed());
  }

  /** Mean observed reward, 0 for an item never tried. */
  estimate(itemId: string): number {
    const c = this.counts.get(itemId);
    return c === undefined || c.n <= 0 ? 0 : c.s / c.n;
  }

  select(candidates: readonly PolicyCandidate[], k: number, context?: SelectContext): RankedItem[] {
    return this.walk(uniqueCandidates(candidates, k, context?.distinct), k, undefined);
  }

  /**
   * The per-position propensities this policy gives a particular slate of the candidates (item ids
   * in order); the product is the slate's probability.
   */
  slatePropensities(candidates: readonly PolicyCandidate[], slate: readonly string[]): number[] {
    const cs = uniqueCandidates(candidates, slate.length);
    const index = new Map(cs.map((c, i) => [c.itemId, i]));
    const picks = slate.map((id) => {
      const i = index.get(id);
      if (i === undefined) throw new RangeError(`${id} is not a candidate`);
      return i;
    });
    return this.walk(cs, slate.length, picks).map((r) => r.propensity);
  }

  update(feedback: Feedback): string[] {
    return [this.counts.add(feedback.itemId, feedback.trial, feedback.reward)];
  }

  exportState(keys?: Iterable<string>): Map<string, PolicyStateEntry> {
    return this.counts.export(this.kind, keys);
  }

  importState(entries: Iterable<readonly [string, PolicyStateEntry]>): StateImport {
    return this.counts.import(this.kind, entries);
  }

  private walk(cs: readonly PolicyCandidate[], k: number, forced: readonly number[] | undefined): RankedItem[] {
    const z = standardisedScores(cs);
    const values = cs.map((c, i) => this.estimate(c.itemId) + this.scoreWeight * (z[i] as number));
    return epsilonGreedySlate(values, cs, k, this.epsilon, this.rng, forced);
  }
}
