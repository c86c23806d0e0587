import { BackgroundTrainer, type BackgroundTrainerOptions } from '../rl/background-trainer.js';
import type { EventRecord, Store } from '../store/types.js';
import { createRewardMap, type RewardFunction, type RewardMapConfig } from './reward-map.js';
import type { Policy, StateImport } from './types.js';

export interface OnlineLearnerOptions {
  store: Store;
  /** Policies by the name recommendations were logged with. */
  policies: ReadonlyMap<string, Policy>;
  rewards?: RewardMapConfig | RewardFunction;
  /** Item features for contextual policies (e.g. the item's embedding in the serving bundle). */
  itemFeatures?: (itemId: string) => Float32Array | undefined;
  now?: () => number;
  /** How policies that learn in the background (DRR) run and checkpoint; see BackgroundTrainer. */
  background?: Omit<BackgroundTrainerOptions, 'store' | 'policies' | 'now'>;
}

export interface LearnOutcome {
  /** Policy the feedback was credited to; undefined when the event had no matching impression. */
  policy?: string;
  trial: 0 | 1;
  reward: number;
}

/**
 * Closes the loop: attributes events to the impressions they answer (by recommId and itemId), turns
 * them into rewards, updates the policy that chose each impression and persists the state it touched.
 * Events without a recommId, or whose item was not in that recommendation, teach nothing.
 * Policies with background learning (DRR) only queue their updates here; `background` runs them
 * between requests and checkpoints their state in writes of its own.
 */
export class OnlineLearner {
  private readonly store: Store;
  private readonly policies: ReadonlyMap<string, Policy>;
  private readonly reward: RewardFunction;
  private readonly itemFeatures: ((itemId: string) => Float32Array | undefined) | undefined;
  private readonly now: () => number;
  readonly background: BackgroundTrainer;

  constructor(options: OnlineLearnerOptions) {
    this.store = options.store;
    this.policies = options.policies;
    this.reward = typeof options.rewards === 'function' ? options.rewards : createRewardMap(options.rewards);
    this.itemFeatures = options.itemFeatures;
    this.now = options.now ?? Date.now;
    this.background = new BackgroundTrainer({ ...options.background, store: this.store, policies: this.policies, now: this.now });
  }

  /** Loads each policy's stored state; returns what was loaded or skipped per policy. */
  async restore(): Promise<Map<string, StateImport>> {
    const out = new Map<string, StateImport>();
    for (const [name, policy] of this.policies) out.set(name, policy.importState(await this.store.getPolicyState(name)));
    return out;
  }

  /** Learns from events already accepted into the store (so a duplicate never teaches twice). */
  async learn(events: readonly EventRecord[]): Promise<(LearnOutcome | undefined)[]> {
    const attributable = events
      .map((event, index) => ({ event, index }))
      .filter((e): e is { event: EventRecord & { recommId: string }; index: number } => typeof e.event.recommId === 'string');
    const outcomes: (LearnOutcome | undefined)[] = events.map(() => undefined);
    if (attributable.length === 0) return outcomes;

    const deltas = await this.store.attributeFeedback(
      attributable.map(({ event }) => ({ recommId: event.recommId, itemId: event.itemId, reward: this.reward(event) })),
    );
    const touched = new Map<string, Set<string>>();
    deltas.forEach((delta, i) => {
      if (delta === undefined) return;
      const { event, index } = attributable[i] as { event: EventRecord; index: number };
      const name = delta.impression.policy;
      outcomes[index] = { policy: name, trial: delta.trial, reward: delta.reward };
      const policy = this.policies.get(name);
      if (policy === undefined || (delta.trial === 0 && delta.reward === 0)) return;
      const keys = policy.update({
        itemId: event.itemId,
        trial: delta.trial,
        reward: delta.reward,
        userFeatures: delta.userFeatures,
        itemFeatures: policy.usesFeatures ? this.itemFeatures?.(event.itemId) : undefined,
      });
      if (keys.length === 0) return;
      const set = touched.get(name) ?? new Set<string>();
      for (const k of keys) set.add(k);
      touched.set(name, set);
    });
    this.background.wake();
    const now = this.now();
    for (const [name, keys] of touched) {
      const policy = this.policies.get(name) as Policy;
      await this.store.putPolicyState(name, policy.exportState(keys), now);
    }
    return outcomes;
  }
}
