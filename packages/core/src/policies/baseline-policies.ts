import type { PolicyStateEntry } from '../store/types.js';
import { createRng, randomSeed, type Rng } from './rng.js';
import { ranked, uniqueCandidates } from './slate.js';
import type { Policy, PolicyCandidate, RankedItem, SelectContext, StateImport } from './types.js';

/** A policy that learns nothing from feedback and so has no state to persist. */
export abstract class StatelessPolicy implements Policy {
  abstract readonly kind: Policy['kind'];
  abstract readonly usesFeatures: boolean;
  abstract select(candidates: readonly PolicyCandidate[], k: number, context?: SelectContext): RankedItem[];

  update(): string[] {
    return [];
  }

  exportState(): Map<string, PolicyStateEntry> {
    return new Map();
  }

  importState(): StateImport {
    return { loaded: 0 };
  }
}

/** The model's own order, no exploration: the baseline every bandit is compared against. */
export class GreedyPolicy extends StatelessPolicy {
  readonly kind = 'greedy' as const;
  readonly usesFeatures = false;

  select(candidates: readonly PolicyCandidate[], k: number, context?: SelectContext): RankedItem[] {
    const cs = uniqueCandidates(candidates, k, context?.distinct);
    const order = cs
      .map((c, i) => i)
      .sort((a, b) => scoreOf(cs[b]) - scoreOf(cs[a]) || a - b)
      .slice(0, k);
    return ranked(cs, order, order.map(() => 1));
  }
}

/** A uniformly random slate from the candidates: the exploration floor in simulations and a source of unbiased logs. */
export class RandomPolicy extends StatelessPolicy {
  readonly kind = 'random' as const;
  readonly usesFeatures = false;
  private readonly rng: Rng;

  constructor(options: { rng?: Rng } = {}) {
    super();
    this.rng = options.rng ?? createRng(randomSeed());
  }

  select(candidates: readonly PolicyCandidate[], k: number, context?: SelectContext): RankedItem[] {
    const cs = uniqueCandidates(candidates, k, context?.distinct);
    const pool = cs.map((_, i) => i);
    const order: number[] = [];
    const propensities: number[] = [];
    for (let j = 0; j < Math.min(k, cs.length); j++) {
      const at = Math.floor(this.rng.next() * pool.length);
      propensities.push(1 / pool.length);
      order.push(pool[at] as number);
      pool.splice(at, 1);
    }
    return ranked(cs, order, propensities);
  }
}

function scoreOf(c: PolicyCandidate | undefined): number {
  const s = c?.score ?? 0;
  return Number.isFinite(s) ? s : 0;
}
