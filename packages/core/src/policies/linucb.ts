import { invalidConfig } from '../errors/index.js';
import type { PolicyStateEntry } from '../store/types.js';
import { bytesToFloat64, dot, float64ToBytes, identity, matVec, quadraticForm, shermanMorrisonUpdate } from './linear-algebra.js';
import { checkNumber, orderByValue, ranked, standardisedScores, uniqueCandidates } from './slate.js';
import type { Feedback, Policy, PolicyCandidate, PolicyCommonOptions, RankedItem, SelectContext, StateImport } from './types.js';

export const LINUCB_MODES = ['disjoint', 'shared'] as const;
export type LinUcbMode = (typeof LINUCB_MODES)[number];

export const LINUCB_FEATURES = ['none', 'user', 'item', 'product', 'concat'] as const;
/**
 * How the context vector x is built from the user's and the item's embeddings (a bias 1 always comes first):
 * - none: x = [1] (a per-arm UCB on mean reward in disjoint mode)
 * - user: x = [1, u]; item: x = [1, v]
 * - product: x = [1, u ⊙ v] (θ = 1 would reproduce the two-tower dot product)
 * - concat: x = [1, u, v]
 */
export type LinUcbFeatures = (typeof LINUCB_FEATURES)[number];

export interface LinUcbOptions extends PolicyCommonOptions {
  /**
   * disjoint: one linear model per item (Li et al. 2010, Algorithm 1) on x; shared: one model for all
   * items, which generalises to unseen items through their features.
   */
  mode?: LinUcbMode;
  /** Default: 'user' for disjoint, 'product' for shared. */
  features?: LinUcbFeatures;
  /** Length of the user and item embeddings (0 with features 'none'). Missing or short vectors count as zeros. */
  dim: number;
  /** Width of the confidence bonus. Default 1. */
  alpha?: number;
  /** Ridge: A starts at λI. Default 1. */
  lambda?: number;
}

interface LinearArm {
  /** A⁻¹, kept up to date by Sherman–Morrison */
  inverse: Float64Array;
  b: Float64Array;
  /** θ = A⁻¹b, cached because select reads it for every candidate */
  theta: Float64Array;
  n: number;
}

const META_KEY = 'meta';
const SHARED_KEY = 'shared';
const ARM_PREFIX = 'arm:';

/**
 * LinUCB: rank by θᵀx + α·sqrt(xᵀA⁻¹x), an optimistic estimate of the reward that shrinks as an
 * item (disjoint) or the feature directions (shared) collect trials. Deterministic, so every shown
 * item's propensity is 1. A trial adds x xᵀ to A (a rank-1 update of A⁻¹ by Sherman–Morrison); a
 * reward adds r·x to b.
 */
export class LinUcbPolicy implements Policy {
  readonly kind = 'linucb' as const;
  readonly usesFeatures: boolean;
  readonly mode: LinUcbMode;
  readonly features: LinUcbFeatures;
  /** Length of x, bias included. */
  readonly width: number;
  private readonly dim: number;
  private readonly alpha: number;
  private readonly lambda: number;
  private readonly scoreWeight: number;
  private readonly arms = new Map<string, LinearArm>();
  private shared: LinearArm;
  /** A⁻¹ of an arm with no trials, shared by every unseen arm. */
  private readonly priorInverse: Float64Array;

  constructor(options: LinUcbOptions) {
    const mode = options.mode ?? 'disjoint';
    if (!LINUCB_MODES.includes(mode)) throw invalidConfig('mode', mode, LINUCB_MODES);
    const features = options.features ?? (mode === 'disjoint' ? 'user' : 'product');
    if (!LINUCB_FEATURES.includes(features)) throw invalidConfig('features', features, LINUCB_FEATURES);
    this.mode = mode;
    this.features = features;
    this.dim = Math.floor(checkNumber('dim', options.dim, 0, 4096));
    this.alpha = checkNumber('alpha', options.alpha ?? 1, 0);
    this.lambda = checkNumber('lambda', options.lambda ?? 1, Number.MIN_VALUE);
    this.scoreWeight = checkNumber('scoreWeight', options.scoreWeight ?? 0, 0);
    this.width = 1 + (features === 'none' ? 0 : features === 'concat' ? 2 * this.dim : this.dim);
    this.usesFeatures = features !== 'none';
    this.priorInverse = identity(this.width, 1 / this.lambda);
    this.shared = this.freshArm();
  }

  /** The context vector for a user/item pair. */
  contextVector(userFeatures: Float32Array | undefined, itemFeatures: Float32Array | undefined): Float64Array {
    const x = new Float64Array(this.width);
    x[0] = 1;
    const d = this.dim;
    const at = (v: Float32Array | undefined, i: number) => {
      const value = v?.[i];
      return value !== undefined && Number.isFinite(value) ? value : 0;
    };
    for (let i = 0; i < d && this.features !== 'none'; i++) {
      const u = at(userFeatures, i);
      const v = at(itemFeatures, i);
      if (this.features === 'user') x[1 + i] = u;
      else if (this.features === 'item') x[1 + i] = v;
      else if (this.features === 'product') x[1 + i] = u * v;
      else {
        x[1 + i] = u;
        x[1 + d + i] = v;
      }
    }
    return x;
  }

  /** The optimistic value θᵀx + α·sqrt(xᵀA⁻¹x) of one candidate. */
  upperBound(itemId: string, x: Float64Array): number {
    const arm = this.mode === 'shared' ? this.shared : this.arms.get(itemId);
    const inverse = arm?.inverse ?? this.priorInverse;
    const mean = arm === undefined ? 0 : dot(arm.theta, x);
    return mean + this.alpha * Math.sqrt(Math.max(0, quadraticForm(inverse, this.width, x)));
  }

  select(candidates: readonly PolicyCandidate[], k: number, context: SelectContext = {}): RankedItem[] {
    const cs = uniqueCandidates(candidates, k, context.distinct);
    const z = standardisedScores(cs);
    const values = cs.map(
      (c, i) => this.upperBound(c.itemId, this.contextVector(context.userFeatures, c.features)) + this.scoreWeight * (z[i] as number),
    );
    const order = orderByValue(values, cs).slice(0, Math.min(k, cs.length));
    return ranked(cs, order, order.map(() => 1));
  }

  update(feedback: Feedback): string[] {
    if (feedback.trial === 0 && feedback.reward === 0) return [];
    const x = this.contextVector(feedback.userFeatures, feedback.itemFeatures);
    let key = SHARED_KEY;
    let arm = this.shared;
    if (this.mode === 'disjoint') {
      key = ARM_PREFIX + feedback.itemId;
      arm = this.arms.get(feedback.itemId) ?? this.freshArm();
      this.arms.set(feedback.itemId, arm);
    }
    if (feedback.trial === 1) {
      shermanMorrisonUpdate(arm.inverse, this.width, x);
      arm.n += 1;
    }
    if (Number.isFinite(feedback.reward)) for (let i = 0; i < this.width; i++) arm.b[i] = (arm.b[i] as number) + feedback.reward * (x[i] as number);
    matVec(arm.inverse, this.width, arm.b, arm.theta);
    return [key];
  }

  exportState(keys?: Iterable<string>): Map<string, PolicyStateEntry> {
    const wanted = keys === undefined ? undefined : new Set(keys);
    const want = (k: string) => wanted === undefined || wanted.has(k);
    const out = new Map<string, PolicyStateEntry>();
    // meta goes with every write: it is what tells a later import whether the arms still fit.
    out.set(META_KEY, { json: this.meta() });
    if (this.mode === 'shared') {
      if (want(SHARED_KEY)) out.set(SHARED_KEY, armEntry(this.shared));
    } else {
      for (const [id, arm] of this.arms) if (want(ARM_PREFIX + id)) out.set(ARM_PREFIX + id, armEntry(arm));
    }
    return out;
  }

  importState(entries: Iterable<readonly [string, PolicyStateEntry]>): StateImport {
    const list = [...entries];
    const meta = list.find(([k]) => k === META_KEY)?.[1].json;
    if (list.length === 0) return { loaded: 0 };
    const expected = this.meta();
    if (JSON.stringify(meta) !== JSON.stringify(expected)) {
      return { loaded: 0, skipped: `stored LinUCB state ${JSON.stringify(meta)} does not match ${JSON.stringify(expected)}` };
    }
    const width = this.width;
    const parse = (entry: PolicyStateEntry): LinearArm | undefined => {
      if (entry.blob === undefined) return undefined;
      const values = bytesToFloat64(entry.blob);
      if (values.length !== width * width + width) return undefined;
      const inverse = values.slice(0, width * width);
      const b = values.slice(width * width);
      const n = typeof entry.json === 'object' && entry.json !== null ? Number((entry.json as { n?: unknown }).n) || 0 : 0;
      return { inverse, b, theta: matVec(inverse, width, b), n };
    };
    let loaded = 0;
    this.arms.clear();
    this.shared = this.freshArm();
    for (const [key, entry] of list) {
      if (key === SHARED_KEY && this.mode === 'shared') {
        const arm = parse(entry);
        if (arm !== undefined) {
          this.shared = arm;
          loaded++;
        }
      } else if (key.startsWith(ARM_PREFIX) && this.mode === 'disjoint') {
        const arm = parse(entry);
        if (arm !== undefined) {
          this.arms.set(key.slice(ARM_PREFIX.length), arm);
          loaded++;
        }
      }
    }
    return { loaded };
  }

  /** Trials seen by an item's arm (disjoint) or by the shared model. */
  trials(itemId?: string): number {
    return (this.mode === 'shared' ? this.shared : this.arms.get(itemId ?? ''))?.n ?? 0;
  }

  private meta() {
    return { kind: this.kind, version: 1, mode: this.mode, features: this.features, dim: this.dim, lambda: this.lambda };
  }

  private freshArm(): LinearArm {
    return { inverse: this.priorInverse.slice(), b: new Float64Array(this.width), theta: new Float64Array(this.width), n: 0 };
  }
}

function armEntry(arm: LinearArm): PolicyStateEntry {
  const values = new Float64Array(arm.inverse.length + arm.b.length);
  values.set(arm.inverse, 0);
  values.set(arm.b, arm.inverse.length);
  return { json: { n: arm.n }, blob: float64ToBytes(values) };
}
