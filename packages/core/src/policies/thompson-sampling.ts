import type { PolicyStateEntry } from '../store/types.js';
import { ItemCounts } from './counting-state.js';
import { createRng, randomSeed, sampleBeta, type Rng } from './rng.js';
import { beats, checkNumber, orderByValue, ranked, standardisedScores, uniqueCandidates } from './slate.js';
import type { Feedback, Policy, PolicyCandidate, PolicyCommonOptions, RankedItem, StateImport } from './types.js';

export interface ThompsonSamplingOptions extends PolicyCommonOptions {
  /** Beta prior pseudo-successes. Default 1. */
  alpha?: number;
  /** Beta prior pseudo-failures. Default 1. */
  beta?: number;
  /**
   * Extra posterior draws used to estimate each position's propensity (no closed form exists for a
   * Thompson slate). More draws, less noise, more CPU: cost is draws × candidates Beta samples.
   * Default 64; 0 reports propensities from the chosen draw alone (1/1, i.e. no estimate).
   */
  propensityDraws?: number;
  rng?: Rng;
}

/**
 * Thompson sampling with a Beta–Bernoulli posterior per item: rank by one draw from each posterior.
 * Rewards are read as success fractions: an impression adds a trial, rewards add successes, and the
 * posterior is Beta(α + s, β + n − s) with s clamped into [0, n] so negative or repeated rewards
 * cannot make a parameter invalid.
 */
export class ThompsonSamplingPolicy implements Policy {
  readonly kind = 'thompson' as const;
  readonly usesFeatures = false;
  private readonly alpha: number;
  private readonly beta: number;
  private readonly draws: number;
  private readonly scoreWeight: number;
  private readonly rng: Rng;
  private readonly counts = new ItemCounts();

  constructor(options: ThompsonSamplingOptions = {}) {
    this.alpha = checkNumber('alpha', options.alpha ?? 1, Number.MIN_VALUE);
    this.beta = checkNumber('beta', options.beta ?? 1, Number.MIN_VALUE);
    this.draws = Math.floor(checkNumber('propensityDraws', options.propensityDraws ?? 64, 0, 100_000));
    this.scoreWeight = checkNumber('scoreWeight', options.scoreWeight ?? 0, 0);
    this.rng = options.rng ?? createRng(randomSeed());
  }

  /** The item's posterior parameters. */
  posterior(itemId: string): { alpha: number; beta: number } {
    const c = this.counts.get(itemId);
    const n = Math.max(0, c?.n ?? 0);
    const s = Math.min(n, Math.max(0, c?.s ?? 0));
    return { alpha: this.alpha + s, beta: this.beta + n - s };
  }

  select(candidates: readonly PolicyCandidate[], k: number): RankedItem[] {
    const cs = uniqueCandidates(candidates, k);
    const kk = Math.min(k, cs.length);
    if (kk === 0) return [];
    const posteriors = cs.map((c) => this.posterior(c.itemId));
    const z = standardisedScores(cs);
    const values = new Float64Array(cs.length);
    const draw = () => {
      posteriors.forEach((p, i) => (values[i] = sampleBeta(this.rng, p.alpha, p.beta) + this.scoreWeight * (z[i] as number)));
      return values;
    };

    const order = orderByValue(draw(), cs).slice(0, kk);
    // Propensity of position j = P(the chosen item beats every item not placed before it). Each extra
    // draw is a fresh set of posterior samples; the chosen draw itself counts too, so no estimate is 0.
    const hits = new Array<number>(kk).fill(1);
    const chosen = new Set(order);
    const others = cs.map((_, i) => i).filter((i) => !chosen.has(i));
    for (let d = 0; d < this.draws; d++) {
      draw();
      // Walking the slate backwards, `rival` is the best of the items not placed before position j
      // other than order[j] itself: O(candidates) per draw instead of a sort.
      let rival = -1;
      for (const i of others) if (rival === -1 || beats(values, cs, i, rival)) rival = i;
      for (let j = kk - 1; j >= 0; j--) {
        const item = order[j] as number;
        if (rival === -1 || beats(values, cs, item, rival)) {
          hits[j] = (hits[j] as number) + 1;
          rival = item;
        }
      }
    }
    return ranked(cs, order, hits.map((h) => h / (this.draws + 1)));
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
}
