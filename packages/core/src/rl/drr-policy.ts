import type { LoadedBundle } from '../bundle/load-bundle.js';
import { BundleError } from '../errors/index.js';
import { createRng, randomSeed, type Rng } from '../policies/rng.js';
import { checkNumber, epsilonGreedySlate, standardisedScores, uniqueCandidates } from '../policies/slate.js';
import type { BackgroundLearning, Feedback, Policy, PolicyCandidate, PolicyCommonOptions, RankedItem, SelectContext, StateImport } from '../policies/types.js';
import type { PolicyStateEntry } from '../store/types.js';
import { DRR_LEARNER_DEFAULTS, DrrLearner, gatherState, gatherUser, type DrrLearnerOptions, type DrrTables, type DrrTransition } from './drr-learner.js';
import type { DrrShape } from './drr-network.js';
import { decodeDrrWeights, encodeDrrWeights, type DrrWeights } from './drr-weights.js';

/** What a DRR policy needs from a bundle with an `rl` section. */
export interface DrrModelData {
  weights: DrrWeights;
  itemIds: readonly string[];
  /** [itemIds.length, dim], the vectors actions are scored against */
  itemVectors: Float32Array;
  userIds: readonly string[];
  /** each known user's training positives, oldest first (the bundle's history CSR) */
  history: { readonly indptr: Uint32Array; readonly indices: Uint32Array };
}

/** The DRR model of a loaded bundle; fails with a BundleError naming what is missing. */
export function drrModelFromBundle(bundle: LoadedBundle): DrrModelData {
  const rl = bundle.manifest.rl;
  if (rl === undefined || rl.algorithm !== 'ddpg') {
    throw new BundleError('BUNDLE_UNSUPPORTED', `${bundle.location}: the bundle has no ddpg (DRR) rl section, so it cannot serve a DRR policy`);
  }
  const bytes = bundle.files.get(rl.weights);
  if (bytes === undefined) throw new BundleError('BUNDLE_INVALID', `${rl.weights}: named by the rl section but not listed in files`, { file: rl.weights });
  let weights: DrrWeights;
  try {
    weights = decodeDrrWeights(bytes);
  } catch (e) {
    throw new BundleError('BUNDLE_INVALID', `${rl.weights}: ${e instanceof Error ? e.message : String(e)}`, { file: rl.weights });
  }
  const dim = bundle.manifest.items.dim;
  if (bundle.itemEmbeddings === undefined || dim !== weights.shape.dim) {
    throw new BundleError('BUNDLE_INVALID', `${rl.weights}: actions have ${weights.shape.dim} values but the bundle's item vectors have ${String(dim)}`, { file: rl.weights });
  }
  if (weights.users !== undefined && weights.users.rows !== bundle.userIds.length) {
    throw new BundleError('BUNDLE_INVALID', `${rl.weights}: ${weights.users.rows} user rows for ${bundle.userIds.length} users`, { file: rl.weights });
  }
  return { weights, itemIds: bundle.itemIds, itemVectors: bundle.itemEmbeddings, userIds: bundle.userIds, history: bundle.history };
}

export interface DrrPolicyOptions extends PolicyCommonOptions {
  /** Probability of a uniformly random pick at each slate position. Default 0.1; 0 serves greedily. */
  epsilon?: number;
  /** false serves the weights as they are and ignores feedback. Default true. */
  learn?: boolean;
  /** DDPG settings for online updates (DRR_LEARNER_DEFAULTS otherwise). */
  learner?: Partial<DrrLearnerOptions>;
  rng?: Rng;
}

const WEIGHTS_KEY = 'weights';
/** Pending transitions remembered so a later click can add to the reward of its impression. */
const PENDING_LIMIT = 4096;

/**
 * A served DRR policy. The state is the user's last N items: the bundle's training positives of a
 * known user followed by their live history (what the server reads from the store), N = the
 * bundle's state size; the action a = actor(state) with the current weights; candidates are ranked
 * by a · item, with ε-greedy exploration per slate position (so propensities are exact).
 *
 * Feedback becomes DDPG transitions: (state at the recommendation, the shown item's direction as
 * the action, the reward, the state with the item appended when the reward is positive). The
 * action is the item's own direction rather than the actor's output because a slate shares one
 * actor output while each item earns its own reward; the critic then learns which directions pay
 * in which states, and the actor climbs it. Weights persist as one policy-state entry.
 *
 * `update` only records the transition and queues its DDPG update; the updates run through
 * `background.work`, which the OnlineLearner's BackgroundTrainer calls in short slices between
 * requests, and the weights reach the store as its periodic checkpoints, not with each event.
 */
export class DrrPolicy implements Policy {
  readonly kind = 'drr' as const;
  readonly usesFeatures = true;
  readonly shape: DrrShape;
  readonly learner: DrrLearner;
  /** undefined with learn: false (nothing to run, nothing to checkpoint) */
  readonly background: BackgroundLearning | undefined;
  private readonly epsilon: number;
  private readonly learning: boolean;
  private readonly scoreWeight: number;
  private readonly rng: Rng;
  private readonly tables: DrrTables;
  private readonly itemRow: Map<string, number>;
  private readonly userRow: Map<string, number>;
  private readonly pending = new Map<string, DrrTransition>();

  constructor(
    private readonly model: DrrModelData,
    options: DrrPolicyOptions = {},
  ) {
    this.epsilon = checkNumber('epsilon', options.epsilon ?? 0.1, 0, 1);
    this.scoreWeight = checkNumber('scoreWeight', options.scoreWeight ?? 0, 0);
    this.learning = options.learn ?? true;
    this.rng = options.rng ?? createRng(randomSeed());
    const w = model.weights;
    this.shape = w.shape;
    this.tables = { dim: w.shape.dim, items: model.itemVectors, nItems: model.itemIds.length, users: w.users?.values, nUsers: w.users?.rows ?? 0 };
    const learnerOptions = { ...DRR_LEARNER_DEFAULTS, ...options.learner };
    for (const [key, value] of Object.entries(learnerOptions)) checkNumber(`learner.${key}`, value, 0);
    this.learner = new DrrLearner(w.shape, w.params.slice(), (w.target ?? w.params).slice(), this.tables, learnerOptions, this.rng);
    this.itemRow = new Map(model.itemIds.map((id, row) => [id, row]));
    this.userRow = new Map(model.userIds.map((id, row) => [id, row]));
    const learner = this.learner;
    this.background = this.learning
      ? {
          work: (steps, stop) => learner.work(steps, stop),
          stats: () => ({ pending: learner.pending, updates: learner.updates, dropped: learner.dropped }),
        }
      : undefined;
  }

  /**
   * The state the policy acts on, as the feature vector the server logs with the recommendation:
   * [user row (-1 unknown), N item rows oldest first (-1 padding)]. Rows are exact in float32 up
   * to 2^24.
   */
  stateFeatures(request: { userId?: string | undefined; history: readonly string[] }): Float32Array {
    const N = this.shape.stateSize;
    const user = request.userId === undefined ? -1 : (this.userRow.get(request.userId) ?? -1);
    const rows: number[] = [];
    if (user >= 0) {
      const { indptr, indices } = this.model.history;
      for (let j = Math.max(indptr[user] as number, (indptr[user + 1] as number) - N); j < (indptr[user + 1] as number); j++) rows.push(indices[j] as number);
    }
    for (const id of request.history) {
      const row = this.itemRow.get(id);
      if (row !== undefined) rows.push(row);
    }
    const out = new Float32Array(1 + N).fill(-1);
    out[0] = user;
    const take = rows.slice(Math.max(0, rows.length - N));
    take.forEach((row, j) => (out[1 + N - take.length + j] = row));
    return out;
  }

  /** The action for a state vector from stateFeatures. */
  action(features: Float32Array): Float64Array {
    const { user, state } = this.decode(features) ?? { user: -1, state: new Int32Array(this.shape.stateSize).fill(-1) };
    return this.learner.online.forward(gatherUser(this.tables, user), gatherState(this.tables, state)).a;
  }

  select(candidates: readonly PolicyCandidate[], k: number, context: SelectContext = {}): RankedItem[] {
    const cs = uniqueCandidates(candidates, k, context.distinct);
    const z = standardisedScores(cs);
    const features = context.userFeatures;
    const d = this.shape.dim;
    const a = features === undefined || this.decode(features) === undefined ? undefined : this.action(features);
    const values = cs.map((c, i) => {
      const row = this.itemRow.get(c.itemId);
      let v = 0;
      if (a !== undefined) {
        if (row === undefined) v = -Infinity;
        else for (let j = 0; j < d; j++) v += (a[j] as number) * (this.model.itemVectors[row * d + j] as number);
      }
      return v + this.scoreWeight * (z[i] as number);
    });
    return epsilonGreedySlate(values, cs, k, this.epsilon, this.rng);
  }

  update(feedback: Feedback): string[] {
    if (!this.learning || feedback.userFeatures === undefined) return [];
    const decoded = this.decode(feedback.userFeatures);
    const item = this.itemRow.get(feedback.itemId);
    if (decoded === undefined || item === undefined || !Number.isFinite(feedback.reward)) return [];
    const key = `${Array.from(feedback.userFeatures).join(',')}|${item}`;
    if (feedback.trial === 0) {
      // More reward for an impression already learned from (a click after its impression event).
      const t = this.pending.get(key);
      if (t === undefined || feedback.reward === 0) return [];
      this.learner.addReward(t, feedback.reward);
      if (t.reward > 0) t.nextState = shifted(decoded.state, item);
      return [];
    }
    const d = this.shape.dim;
    const action = new Float32Array(d);
    let norm = 0;
    for (let j = 0; j < d; j++) norm += (this.model.itemVectors[item * d + j] as number) ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < d; j++) action[j] = (this.model.itemVectors[item * d + j] as number) / norm;
    const transition: DrrTransition = {
      user: decoded.user,
      state: decoded.state,
      action,
      reward: feedback.reward,
      nextState: feedback.reward > 0 ? shifted(decoded.state, item) : decoded.state,
    };
    this.pending.set(key, transition);
    if (this.pending.size > PENDING_LIMIT) this.pending.delete(this.pending.keys().next().value as string);
    // Queued, not run: nothing in the stored state changes until the update runs and is checkpointed.
    this.learner.add(transition);
    return [];
  }

  exportState(keys?: Iterable<string>): Map<string, PolicyStateEntry> {
    const out = new Map<string, PolicyStateEntry>();
    if (keys !== undefined && ![...keys].includes(WEIGHTS_KEY)) return out;
    out.set(WEIGHTS_KEY, {
      json: { ...this.meta(), updates: this.learner.updates, droppedUpdates: this.learner.dropped },
      blob: encodeDrrWeights({ shape: this.shape, params: this.learner.online.params, target: this.learner.target.params }),
    });
    return out;
  }

  importState(entries: Iterable<readonly [string, PolicyStateEntry]>): StateImport {
    const entry = [...entries].find(([k]) => k === WEIGHTS_KEY)?.[1];
    if (entry?.blob === undefined) return { loaded: 0 };
    let stored: DrrWeights;
    try {
      stored = decodeDrrWeights(entry.blob);
    } catch (e) {
      return { loaded: 0, skipped: e instanceof Error ? e.message : String(e) };
    }
    if (JSON.stringify(stored.shape) !== JSON.stringify(this.shape)) {
      return { loaded: 0, skipped: `stored DRR weights have shape ${JSON.stringify(stored.shape)}, the bundle ${JSON.stringify(this.shape)}` };
    }
    this.learner.online.params.set(stored.params);
    this.learner.target.params.set(stored.target ?? stored.params);
    const updates = Number((entry.json as { updates?: unknown } | undefined)?.updates);
    if (Number.isInteger(updates) && updates >= 0) this.learner.updates = updates;
    const dropped = Number((entry.json as { droppedUpdates?: unknown } | undefined)?.droppedUpdates);
    if (Number.isInteger(dropped) && dropped >= 0) this.learner.dropped = dropped;
    return { loaded: 1 };
  }

  private meta() {
    return { kind: this.kind, version: 1, shape: this.shape };
  }

  private decode(features: Float32Array): { user: number; state: Int32Array } | undefined {
    const N = this.shape.stateSize;
    if (features.length !== 1 + N) return undefined;
    const state = new Int32Array(N);
    for (let j = 0; j < N; j++) {
      const v = features[1 + j] as number;
      state[j] = Number.isInteger(v) && v >= 0 && v < this.tables.nItems ? v : -1;
    }
    const u = features[0] as number;
    return { user: Number.isInteger(u) && u >= 0 ? u : -1, state };
  }
}

function shifted(state: Int32Array, item: number): Int32Array {
  const next = new Int32Array(state.length);
  next.set(state.subarray(1), 0);
  next[state.length - 1] = item;
  return next;
}

/** A DRR policy serving a loaded bundle's rl section. */
export function createDrrPolicy(bundle: LoadedBundle, options: DrrPolicyOptions = {}): DrrPolicy {
  return new DrrPolicy(drrModelFromBundle(bundle), options);
}

