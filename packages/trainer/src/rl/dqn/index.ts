import { TastemakerError, type DqnSideData } from '@tastemaker/core';
import { Rng } from '../../engine/rng.js';
import type { ExportSpec } from '../../export/types.js';
import type { FitOptions, ModelFactory, TrainedModel, TrainInfo, TrainSet } from '../../models/types.js';
import { checkScoreBatch, numberOption } from '../../models/validation.js';
import { blockCurve, type LearningCurve } from '../curves/index.js';
import { STATE_PADDING, type RecEnv } from '../env.js';
import { MfEnv } from '../mf-env.js';
import { PMF_DEFAULTS, trainPmf, type PmfFactors } from '../pmf.js';
import { RatingEnv } from '../rating-env.js';
import { userTimelines, type UserTimelines } from '../timelines.js';
import { rollout } from '../rollout.js';
import { coldUserRows, RidgeBelief } from './belief.js';
import { qNetworkGraph } from './onnx.js';
import { QNetwork } from './q-network.js';
import { pushWindow, RewardMemory, trainDqn, type DqnLog, type DqnTrainParams, type PriorFn } from './trainer.js';

export { Gru, GruTape } from './gru.js';
export { QNetwork, type QNetworkShape } from './q-network.js';
export { trainDqn, dqnUpdate, dqnState, pushWindow, RewardMemory, type DqnLog, type DqnTrainParams, type PriorFn } from './trainer.js';
export { coldUserRows, RidgeBelief } from './belief.js';
export { qNetworkGraph, DQN_ONNX_INPUTS } from './onnx.js';

/**
 * `dqn`: deep Q-learning with negative feedback (DEERS-style, Zhao et al. 2018). The state is the
 * user's last N liked items and last N skipped items (two GRUs, rl/dqn/q-network.ts); Q(s, a) is
 * scored against the candidate's pre-trained MF embedding; training is ε-greedy with a target
 * network and prioritised replay (rl/dqn/trainer.ts).
 *
 * Where it trains (`env`): `mf` (default) — an MF simulator built from the train part only (a
 * second PMF, `separateSimulator`), episodes of 20 steps shaped like `tastemaker simulate`'s: from a
 * train user's first N liked items, with the not-liked items rated before them as the skip window,
 * for users rated past that point (dqnEnvironment); `rating` — the offline rating
 * environment (rl/rating-env.ts: a skip is a recommended item the user did not rate ≥ 4, unrated
 * items earn the penalty). Item embeddings are that PMF's [Q_i, b_i] (the paper pre-trains with MF).
 *
 * `prior=ridge` (default) adds a belief φ₀(s) (rl/dqn/belief.ts) to φ(s): a ridge fold-in of the
 * ratings observed for the state's items. For a known user (`userPrior=1`) it is centred on the
 * user's PMF row and counts only the rewards observed in the current episode (so an untrained DQN
 * ranks nearly like mf-greedy until feedback arrives: the output layer starts near 0); for an
 * unknown user, or with userPrior=0, it is centred on 0 and reads training ratings too, with
 * default ratings for liked/skipped items it has no value for. `prior=none` is the plain DEERS
 * network. In training and validation episodes the belief's user rows are refitted from the
 * ratings before the episode start (`coldUsers`) and the simulator is not the belief's PMF, so the
 * belief is wrong there the way it is on simulate's held-out users.
 *
 * Every choice is made on validation users: a seeded share of the episode users who never train.
 * The untrained network is the belief exactly (its output layer starts at zero), so λ is the one
 * whose belief-only policy has the best validation return; Q-learning then trains a correction
 * (residualLr), and the checkpoint with the best validation return — the untrained one included —
 * is kept. `steps=0` keeps the belief alone: the ablation of what Q-learning adds.
 */

export const DQN_ENVS = ['mf', 'rating'] as const;

export interface DqnParams extends DqnTrainParams {
  env: (typeof DQN_ENVS)[number];
  stateSize: number;
  hidden: number;
  mlpHidden: number;
  prior: 'ridge' | 'none';
  /**
   * Adam's step size with prior=ridge (lr is used with prior=none): the network is then a correction
   * of an already good ranking, and steps of 1e-3 move φ by more than the belief's own scale within
   * a few updates
   */
  residualLr: number;
  /** 1: the Q-network's MLP also reads φ₀, so its correction can depend on the belief (prior=ridge) */
  beliefInput: number;
  /** ridge strength of the prior's fold-in; 0 (default): chosen among RIDGE_LAMBDAS by validation return */
  ridgeLambda: number;
  /** the ridge pulls a known user towards their PMF row (1) or towards 0 (0) */
  userPrior: number;
  /**
   * 1 (default): the belief also reads the ratings observed in the episode, so it learns about the
   * user within the episode by itself; 0: it reads only what was known when the episode started
   * (the user's row, or their training ratings), so the untrained network ranks as the rating model
   * does (like mf-greedy) all episode long and using the episode's feedback is left to Q-learning
   */
  episodeBelief: number;
  /**
   * 1 (default): in training and validation episodes the belief's user rows come from each user's
   * ratings up to their N-th liked item only (what a deployed model knows when such an episode
   * starts, as for simulate's held-out users), so the belief is wrong the way it is at evaluation;
   * 0: the PMF's own rows, which in the train-part simulator are the simulator's users exactly.
   * The trained model's belief always uses the PMF's rows (everything the train part knows).
   */
  coldUsers: number;
  /**
   * 1 (default): the MF simulator is a second PMF fitted on the train part with another seed, not the
   * embedding PMF itself — at evaluation the simulator is not the policy's rating model either, so
   * the belief (linear in the embedding PMF's item factors) must not be able to match it exactly
   */
  separateSimulator: number;
  /** share of the episode users kept out of training to validate on (mf env; 0: no validation, the last step is kept) */
  validation: number;
  /** at most this many validation users */
  validationUsers: number;
  /** training steps between validations (0: steps / 16) */
  validateEvery: number;
  /** 1 (default): keep the checkpoint with the best validation return; 0: the last one (ablation) */
  keepBest: number;
  embeddingDim: number;
  embeddingEpochs: number;
  positiveThreshold: number;
  unratedPenalty: number;
  maxEpisodeSteps: number;
}

export const DQN_DEFAULTS: DqnParams = {
  env: 'mf',
  stateSize: 10,
  hidden: 32,
  mlpHidden: 64,
  prior: 'ridge',
  beliefInput: 0,
  ridgeLambda: 0,
  userPrior: 1,
  episodeBelief: 1,
  coldUsers: 1,
  separateSimulator: 1,
  validation: 0.1,
  validationUsers: 500,
  validateEvery: 0,
  keepBest: 1,
  embeddingDim: 32,
  embeddingEpochs: 25,
  positiveThreshold: 4,
  unratedPenalty: -0.5,
  maxEpisodeSteps: 20,
  envs: 32,
  steps: 400,
  batchSize: 64,
  updatesPerStep: 1,
  warmup: 500,
  gamma: 0.5,
  tau: 0.01,
  targetEvery: 0,
  lr: 1e-3,
  residualLr: 1e-4,
  epsStart: 1,
  epsMin: 0.05,
  epsDecay: 0.99,
  replayCapacity: 50_000,
  alpha: 0.6,
  betaStart: 0.4,
};

/** ridge strengths the belief is chosen from on validation when ridgeLambda is 0 */
export const RIDGE_LAMBDAS = [0.1, 0.3, 1, 3] as const;

const INTEGER_KEYS = new Set(['stateSize', 'hidden', 'mlpHidden', 'embeddingDim', 'embeddingEpochs', 'maxEpisodeSteps', 'envs', 'steps', 'batchSize', 'updatesPerStep', 'warmup', 'targetEvery', 'replayCapacity', 'validationUsers', 'validateEvery']);
/** λ without validation users to choose it on */
const DEFAULT_RIDGE_LAMBDA = 0.3;
// steps=0 keeps the untrained network: the belief alone (the ablation of what training adds)
const ZERO_OK = new Set(['steps', 'targetEvery', 'warmup', 'validationUsers', 'validateEvery']);

/** Effective hyper-parameters: FitOptions (epochs → steps, dim → embeddingDim, lr, batchSize), then `--set key=value`, then defaults. */
export function dqnParams(options: FitOptions): DqnParams {
  const model = 'dqn';
  const extra = options.extra ?? {};
  const p: DqnParams = { ...DQN_DEFAULTS };
  const table = p as unknown as Record<string, unknown>;
  for (const [key, def] of Object.entries(DQN_DEFAULTS)) {
    if (typeof def !== 'number') continue;
    const integer = INTEGER_KEYS.has(key);
    const min = ZERO_OK.has(key) ? 0 : 1;
    table[key] = numberOption(model, key, extra[key], def, integer ? (v) => Number.isInteger(v) && v >= min : (v) => Number.isFinite(v), integer ? `Use an integer ≥ ${min}.` : 'Use a finite number.');
  }
  const env = extra.env ?? DQN_DEFAULTS.env;
  if (!(DQN_ENVS as readonly unknown[]).includes(env)) throw new TastemakerError('INVALID_CONFIG', `Invalid env for ${model}: ${JSON.stringify(env)}. Valid: ${DQN_ENVS.join(', ')}.`, { got: env, valid: DQN_ENVS });
  p.env = env as DqnParams['env'];
  const prior = extra.prior ?? DQN_DEFAULTS.prior;
  if (prior !== 'ridge' && prior !== 'none') throw new TastemakerError('INVALID_CONFIG', `Invalid prior for ${model}: ${JSON.stringify(prior)}. Valid: ridge, none.`, { got: prior, valid: ['ridge', 'none'] });
  p.prior = prior;
  for (const flag of ['coldUsers', 'keepBest', 'separateSimulator', 'beliefInput', 'userPrior', 'episodeBelief'] as const) {
    const v = p[flag];
    if (v !== 0 && v !== 1) throw new TastemakerError('INVALID_CONFIG', `Invalid ${flag} for ${model}: ${v}. Valid: 1, 0.`, { got: v, valid: [1, 0] });
  }
  if (!(p.ridgeLambda >= 0)) throw new TastemakerError('INVALID_CONFIG', `Invalid ridgeLambda for ${model}: ${p.ridgeLambda}. Use a number > 0, or 0 to choose it on validation.`);
  if (!(p.validation >= 0 && p.validation < 1)) throw new TastemakerError('INVALID_CONFIG', `Invalid validation for ${model}: ${p.validation}. Use a share in [0, 1).`);
  if (options.epochs !== undefined) p.steps = options.epochs;
  if (options.dim !== undefined) p.embeddingDim = options.dim;
  if (options.learningRate !== undefined) p.lr = p.residualLr = options.learningRate;
  if (options.batchSize !== undefined) p.batchSize = options.batchSize;
  if (!(p.gamma >= 0 && p.gamma < 1)) throw new TastemakerError('INVALID_CONFIG', `Invalid gamma for ${model}: ${p.gamma}. Use a number in [0, 1).`);
  if (!(p.tau > 0 && p.tau <= 1)) throw new TastemakerError('INVALID_CONFIG', `Invalid tau for ${model}: ${p.tau}. Use a number in (0, 1].`);
  if (!(p.epsStart >= 0 && p.epsStart <= 1 && p.epsMin >= 0 && p.epsMin <= p.epsStart && p.epsDecay > 0 && p.epsDecay <= 1)) {
    throw new TastemakerError('INVALID_CONFIG', `Invalid exploration for ${model}: need 0 ≤ epsMin ≤ epsStart ≤ 1 and 0 < epsDecay ≤ 1.`);
  }
  if (!(p.residualLr > 0)) throw new TastemakerError('INVALID_CONFIG', `Invalid residualLr for ${model}: ${p.residualLr}. Use a number > 0.`);
  if (p.lr <= 0) throw new TastemakerError('INVALID_CONFIG', `Invalid lr for ${model}: ${p.lr}. Use a number > 0.`);
  return p;
}

/** Item embeddings [Q_i, b_i] of a PMF, [nItems, dim + 1]. */
export function pmfItemEmbeddings(f: PmfFactors): Float32Array {
  const d = f.dim + 1;
  const out = new Float32Array(f.nItems * d);
  for (let i = 0; i < f.nItems; i++) {
    out.set(f.itemFactors.subarray(i * f.dim, (i + 1) * f.dim), i * d);
    out[i * d + f.dim] = f.itemBias[i]!;
  }
  return out;
}

/** Each user's training ratings as rewards (r − 3)/2, built per user on first use. */
class TrainingRewards {
  private readonly byUser: (Map<number, number> | undefined)[] = [];
  constructor(private readonly t: UserTimelines) {}
  get(user: number, item: number): number | undefined {
    if (user < 0 || user >= this.t.items.length) return undefined;
    let m = this.byUser[user];
    if (m === undefined) {
      m = new Map();
      const items = this.t.items[user]!;
      const ratings = this.t.ratings[user]!;
      for (let j = 0; j < items.length; j++) m.set(items[j]!, (ratings[j]! - 3) / 2);
      this.byUser[user] = m;
    }
    return m.get(item);
  }
}

/**
 * The prior φ₀ for a batch: episode rewards first (with `readEpisode`, the episodeBelief flag), then
 * training ratings, then liked/skipped defaults.
 */
function priorFn(belief: RidgeBelief, n: number, memory: RewardMemory, known: TrainingRewards, readEpisode: boolean): PriorFn {
  const nothing = () => undefined;
  return (users, states) => {
    const rows = users.length;
    const out = new Float32Array(rows * belief.outDim);
    for (let b = 0; b < rows; b++) {
      const u = users[b]!;
      const episode = readEpisode ? (i: number) => memory.get(u, i) : nothing;
      const rewardOf = belief.userPrior && u >= 0 ? episode : (i: number) => episode(i) ?? known.get(u, i);
      belief.prior(states, b * 2 * n, n, rewardOf, out, b * belief.outDim, u);
    }
    return out;
  };
}

/** Per user: the last N liked and the last N not-liked rated items of the training timeline, with their ratings. */
function userWindows(t: UserTimelines, n: number, threshold: number): UserWindows {
  const out: UserWindows = { liked: [], skipped: [], likedRatings: [], skippedRatings: [] };
  t.items.forEach((items, u) => {
    const ratings = t.ratings[u]!;
    const l = new Int32Array(n).fill(STATE_PADDING);
    const s = new Int32Array(n).fill(STATE_PADDING);
    const lr = new Float32Array(n);
    const sr = new Float32Array(n);
    for (let j = 0; j < items.length; j++) {
      const liked = ratings[j]! >= threshold;
      pushWindow(liked ? l : s, items[j]!);
      const r = liked ? lr : sr;
      r.copyWithin(0, 1);
      r[n - 1] = ratings[j]!;
    }
    out.liked.push(l);
    out.skipped.push(s);
    out.likedRatings.push(lr);
    out.skippedRatings.push(sr);
  });
  return out;
}

interface UserWindows {
  liked: Int32Array[];
  skipped: Int32Array[];
  likedRatings: Float32Array[];
  skippedRatings: Float32Array[];
}

/** What a DQN bundle is built from besides the network: the rating models and the training windows' ratings. */
export interface DqnServingData {
  /** the PMF whose factors are the item embeddings (the bundle's retrieval stage) */
  pmf: PmfFactors;
  /** the PMF the served belief φ₀ folds in from (the embedding PMF: cold rows are for training episodes only) */
  beliefPmf: PmfFactors;
  params: DqnParams;
  likedRatings: Float32Array[];
  skippedRatings: Float32Array[];
}

export class DqnModel implements TrainedModel {
  readonly id = 'dqn' as const;
  readonly nUsers: number;
  readonly nItems: number;
  private disposed = false;
  /** skip windows of the episodes a simulator is running, by user (see observe) */
  private readonly episodeSkips = new Map<number, Int32Array>();

  constructor(
    readonly network: QNetwork,
    nUsers: number,
    private readonly liked: Int32Array[],
    private readonly skipped: Int32Array[],
    readonly info: TrainInfo,
    readonly log: DqnLog,
    /** φ₀ (see belief.ts) reading `memory`, the rewards observed in the simulator's episodes */
    private readonly prior?: PriorFn,
    private readonly memory?: RewardMemory,
    /** set by fit: without it (a bare network) the model has no bundle */
    private readonly serving?: DqnServingData,
  ) {
    this.nUsers = nUsers;
    this.nItems = network.nItems;
  }

  get name(): string {
    return this.id;
  }

  get stateSize(): number {
    return this.network.shape.seqLen;
  }

  private check(): void {
    if (this.disposed) throw new TastemakerError('DISPOSED', 'dqn model was disposed');
  }

  /** Q-values of every item for explicit DQN states [rows, 2N] (liked then skipped, oldest first) of `users` (−1: unknown). */
  qValues(users: Int32Array, states: Int32Array): Float32Array {
    this.check();
    const rows = states.length / (2 * this.stateSize);
    return this.network.qAll(this.network.phiBatch(states, this.prior?.(users, states)), rows);
  }

  /**
   * A known user's state is their last N liked and last N not-liked training ratings (by time); an
   * unknown user's liked items are the last N of their history, with no skips.
   */
  async scoreBatch(users: Int32Array, histories: readonly Int32Array[]): Promise<Float32Array> {
    this.check();
    checkScoreBatch(this.id, users, histories, this.nUsers, this.nItems);
    const n = this.stateSize;
    const s = new Int32Array(users.length * 2 * n).fill(STATE_PADDING);
    for (let b = 0; b < users.length; b++) {
      const u = users[b]!;
      const own = u >= 0 ? this.liked[u] : undefined;
      if (own !== undefined && own.some((i) => i !== STATE_PADDING)) {
        s.set(own, b * 2 * n);
        s.set(this.skipped[u]!, b * 2 * n + n);
      } else {
        const h = histories[b]!;
        const take = h.subarray(Math.max(0, h.length - n));
        s.set(take, b * 2 * n + n - take.length);
      }
    }
    return this.qValues(users, s);
  }

  /** StatePolicy (simulate): the simulator's liked-items state plus the skips this policy observed in the episode. */
  async scoreStates(users: Int32Array, states: Int32Array): Promise<Float32Array> {
    const n = this.stateSize;
    const s = new Int32Array(users.length * 2 * n).fill(STATE_PADDING);
    for (let b = 0; b < users.length; b++) {
      const src = states.subarray(b * n, (b + 1) * n);
      s.set(src.subarray(Math.max(0, src.length - n)), b * 2 * n + n - Math.min(n, src.length));
      const sk = this.episodeSkips.get(users[b]!);
      if (sk !== undefined) s.set(sk, b * 2 * n + n);
    }
    return this.qValues(users, s);
  }

  /** A known user's episode starts with the skips of their training ratings (as scoreBatch's state does). */
  beginEpisodes(users: Int32Array): void {
    this.episodeSkips.clear();
    this.memory?.clear();
    for (const u of users) {
      const own = u >= 0 ? this.skipped[u] : undefined;
      if (own !== undefined) this.episodeSkips.set(u, own.slice());
    }
  }

  observe(users: Int32Array, items: Int32Array, rewards: Float32Array, positives: Uint8Array): void {
    for (let b = 0; b < users.length; b++) {
      this.memory?.set(users[b]!, items[b]!, rewards[b]!);
      if (positives[b]) continue;
      const u = users[b]!;
      let w = this.episodeSkips.get(u);
      if (w === undefined) this.episodeSkips.set(u, (w = new Int32Array(this.stateSize).fill(STATE_PADDING)));
      pushWindow(w, items[b]!);
    }
  }

  /** Mean reward per step of the training episodes, in blocks (ε-greedy, so below the greedy policy's). */
  learningCurve(): LearningCurve {
    const perStep = this.log.episodeReturns.map((r, k) => r / Math.max(1, this.log.episodeSteps[k]!));
    return blockCurve('dqn', perStep, 'training episode', 50);
  }

  /** Greedy mean reward per step on the validation users at each validation (step 0: the untrained network); undefined without validation. */
  validationCurve(): LearningCurve | undefined {
    if (this.log.validation.length === 0) return undefined;
    const steps = this.serving?.params.maxEpisodeSteps ?? 1;
    return { policy: 'dqn (validation)', x: 'training step', y: 'greedy mean reward per step, validation users', points: this.log.validation.map(([step, r]) => [step, r / steps]) };
  }

  /** The Q-network as ONNX (rl/dqn/onnx.ts: liked/skipped sequences + candidates + prior → Q-values), the bundle's rl graph. */
  toOnnx(): Uint8Array {
    this.check();
    return qNetworkGraph(this.network);
  }

  /** φ₀ rows for explicit states [rows, 2N] (zeros with prior=none): the graph's `prior` input. */
  priors(users: Int32Array, states: Int32Array): Float32Array {
    const rows = states.length / (2 * this.stateSize);
    return this.prior?.(users, states) ?? new Float32Array(rows * this.network.outDim);
  }

  /**
   * The bundle's model section is the retrieval stage: the PMF the item embeddings come from,
   * served as matrix factorisation. The Q-network and its side data go to the rl section
   * (dqnBundleParts, export/rl-bundle.ts); core's `dqn` policy ranks the retrieved candidates by Q.
   */
  exportSpec(): ExportSpec {
    const pmf = this.requireServing().pmf;
    return { kind: 'matrix-factorization', dim: pmf.dim, userFactors: pmf.userFactors, itemFactors: pmf.itemFactors, itemBias: pmf.itemBias };
  }

  /** The rl section's graph and side data (core/src/rl/dqn-weights.ts). */
  dqnBundleParts(): { graph: Uint8Array; side: DqnSideData } {
    this.check();
    const { beliefPmf: b, params: p, likedRatings, skippedRatings } = this.requireServing();
    const n = this.stateSize;
    const flat = <T extends Int32Array | Float32Array>(rows: T[], make: (length: number) => T): T => {
      const out = make(rows.length * n);
      rows.forEach((r, u) => out.set(r, u * n));
      return out;
    };
    const side: DqnSideData = {
      stateSize: n,
      dim: b.dim,
      nItems: this.nItems,
      nUsers: this.liked.length,
      prior: p.prior,
      lambda: p.ridgeLambda,
      userPrior: p.userPrior === 1,
      episodeBelief: p.episodeBelief === 1,
      // RidgeBelief's defaults (belief.ts)
      likedRating: 4,
      skippedRating: 2.5,
      globalMean: b.globalMean,
      itemFactors: b.itemFactors,
      itemBias: b.itemBias,
      userFactors: b.userFactors,
      userBias: b.userBias,
      liked: flat(this.liked, (l) => new Int32Array(l)),
      skipped: flat(this.skipped, (l) => new Int32Array(l)),
      likedRatings: flat(likedRatings, (l) => new Float32Array(l)),
      skippedRatings: flat(skippedRatings, (l) => new Float32Array(l)),
    };
    return { graph: this.toOnnx(), side };
  }

  private requireServing(): DqnServingData {
    this.check();
    if (this.serving === undefined) throw new TastemakerError('INVALID_ARGUMENT', 'dqn: this model was built without its rating model, so it has no bundle (fit builds one)');
    return this.serving;
  }

  dispose(): void {
    this.disposed = true;
  }
}

/**
 * Where an episode of a train user starts in the MF simulator: their first N liked items, the
 * not-liked items rated before the N-th (the last N: the skip window a held-out user brings to
 * simulate), and their timeline up to that point (what a deployed model knows then).
 */
interface EpisodeStart {
  liked: Int32Array;
  skips: Int32Array;
  /** timeline positions 0..cut are known when the episode starts */
  cut: number;
}

function episodeStart(items: Int32Array, ratings: Float32Array, n: number, threshold: number): EpisodeStart | undefined {
  const liked: number[] = [];
  const skips = new Int32Array(n).fill(STATE_PADDING);
  for (let j = 0; j < items.length; j++) {
    if (ratings[j]! >= threshold) {
      liked.push(items[j]!);
      if (liked.length === n) return { liked: Int32Array.from(liked), skips, cut: j };
    } else pushWindow(skips, items[j]!);
  }
  return undefined;
}

/** The simulator's training and validation episodes, built from the train part. */
export interface DqnEnvironment {
  /** where training episodes run */
  env: RecEnv;
  /** the PMF whose item factors are the embeddings (and, with separateSimulator=0, the simulator) */
  pmf: PmfFactors;
  timelines: UserTimelines;
  /** held-out train users' episodes in the same simulator (env=mf with validation > 0) */
  validation?: { env: RecEnv; users: Int32Array };
  /** per user (env=mf): the skip window an episode starts with, undefined for users who cannot start one */
  startSkips: (Int32Array | undefined)[];
  /** each user's timeline up to the episode start (env=mf; the full timeline otherwise) */
  known: UserTimelines;
}

/**
 * The environment the DQN trains in, with the PMF whose item factors are its embeddings. In the MF
 * simulator, episodes start like simulate's held-out users' (first N liked items, the skips before
 * them) and only users rated past that point play: for a user whose train part ends there (a
 * drr-users held-out user) the simulator knows nothing the episode start does not, so nothing
 * there is like evaluation. A seeded share of them (`validation`) is kept for validation.
 */
export function dqnEnvironment(train: TrainSet, p: DqnParams, seed: number): DqnEnvironment {
  const d = train.dataset;
  const pmf = trainPmf(d.interactions, d.users.size, d.items.size, { ...PMF_DEFAULTS, dim: p.embeddingDim, epochs: p.embeddingEpochs }, seed);
  const timelines = userTimelines(d);
  if (p.env === 'rating') {
    const env = new RatingEnv(timelines, d.items.size, { stateSize: p.stateSize, positiveThreshold: p.positiveThreshold, unratedPenalty: p.unratedPenalty, maxSteps: p.maxEpisodeSteps });
    return { env, pmf, timelines, startSkips: [], known: timelines };
  }
  const starts = timelines.items.map((items, u) => episodeStart(items, timelines.ratings[u]!, p.stateSize, p.positiveThreshold));
  let players = starts.flatMap((s, u) => (s !== undefined && s.cut < timelines.items[u]!.length - 1 ? [u] : []));
  // tiny data where nobody rated past their N-th liked item: every user who can start plays
  if (players.length === 0) players = starts.flatMap((s, u) => (s !== undefined ? [u] : []));
  const order = Int32Array.from(players);
  new Rng((seed ^ 0x5eed7a1) >>> 0).shuffle(order);
  let nVal = Math.min(p.validationUsers, Math.floor(p.validation * order.length));
  if (p.validation > 0 && p.validationUsers > 0 && nVal === 0 && order.length >= 2) nVal = 1;
  const validationUsers = order.slice(0, nVal).sort();
  const trainUsers = order.slice(nVal).sort();
  const options = { stateSize: p.stateSize, positiveThreshold: p.positiveThreshold, unratedPenalty: p.unratedPenalty, maxSteps: p.maxEpisodeSteps, seed };
  const initial = (users: Int32Array) => new Map(Array.from(users, (u) => [u, starts[u]!.liked] as const));
  const simulator = p.separateSimulator === 1 ? trainPmf(d.interactions, d.users.size, d.items.size, PMF_DEFAULTS, (seed ^ 0x51a7) >>> 0) : pmf;
  const env = new MfEnv(simulator, initial(trainUsers), options);
  const validation = nVal > 0 ? { env: new MfEnv(simulator, initial(validationUsers), options), users: validationUsers } : undefined;
  const known: UserTimelines = {
    items: timelines.items.map((items, u) => items.subarray(0, (starts[u]?.cut ?? items.length - 1) + 1)),
    ratings: timelines.ratings.map((r, u) => r.subarray(0, (starts[u]?.cut ?? r.length - 1) + 1)),
  };
  return { env, pmf, timelines, ...(validation !== undefined ? { validation } : {}), startSkips: starts.map((s) => s?.skips), known };
}

export const dqnModel: ModelFactory = {
  id: 'dqn',
  description: 'DQN with negative feedback (DEERS-style): GRUs over the liked and skipped items, Q(s, a) against MF item embeddings, target network, prioritised replay, ε-greedy; trained in an MF simulator of the train part, checkpoint chosen on validation users.',
  async fit(train: TrainSet, options: FitOptions): Promise<TrainedModel> {
    const p = dqnParams(options);
    const started = performance.now();
    const setup = dqnEnvironment(train, p, options.seed);
    const { env, pmf, timelines } = setup;
    if (env.users.length === 0) throw new TastemakerError('INVALID_ARGUMENT', `dqn: no training user has ${p.stateSize} liked items to start an episode`);
    const rng = new Rng(options.seed);
    const items = pmfItemEmbeddings(pmf);
    const shape = { seqLen: p.stateSize, embDim: pmf.dim + 1, hidden: p.hidden, mlpHidden: p.mlpHidden, smallOutput: p.prior !== 'none', priorInput: p.prior !== 'none' && p.beliefInput === 1 };
    const online = new QNetwork(shape, items, rng.fork());
    const target = online.clone();
    const nItems = train.dataset.items.size;
    const nUsers = train.dataset.users.size;
    const pmfParams = { ...PMF_DEFAULTS, dim: p.embeddingDim, epochs: p.embeddingEpochs };
    // the belief of training and validation episodes: what is known at an episode's start
    const episodeRows = p.prior === 'ridge' && p.coldUsers === 1 && p.env === 'mf' ? coldUserRows(pmf, timelines, p.stateSize, p.positiveThreshold, pmfParams, options.seed) : pmf;
    const episodeKnown = new TrainingRewards(setup.known);
    const memory = new RewardMemory(nItems);
    const episodePrior = (lambda: number, rewards: RewardMemory) => priorFn(new RidgeBelief(episodeRows, lambda, p.userPrior === 1), p.stateSize, rewards, episodeKnown, p.episodeBelief === 1);
    const startSkips = setup.startSkips.map((w) => w ?? new Int32Array(p.stateSize).fill(STATE_PADDING));
    const dummyLog: DqnLog = { episodeReturns: [], episodeSteps: [], lossCurve: [], updates: 0, episodes: 0, validation: [], keptStep: 0 };
    const val = setup.validation;
    // the validation policy is the online network as simulate runs it: greedy, observing skips and rewards
    const validator =
      val === undefined
        ? undefined
        : (lambda: number | undefined) => {
            const valMemory = new RewardMemory(nItems);
            const valPrior = lambda === undefined ? undefined : episodePrior(lambda, valMemory);
            const policy = new DqnModel(online, nUsers, [], startSkips, { backend: 'typed-arrays', epochs: 0, params: {} }, dummyLog, valPrior, valMemory);
            return async () => (await rollout(val.env, policy, val.users)).meanReturn;
          };
    let lambda = p.ridgeLambda;
    const lambdaScores: [number, number][] = [];
    if (p.prior === 'ridge' && lambda === 0) {
      // the untrained network is the belief alone (its output layer is zero): λ is picked by its validation return
      if (validator === undefined) lambda = DEFAULT_RIDGE_LAMBDA;
      else {
        for (const l of RIDGE_LAMBDAS) lambdaScores.push([l, await validator(l)()]);
        lambda = lambdaScores.reduce((a, b) => (b[1] > a[1] ? b : a))[0];
      }
      options.log?.(`dqn: ridge λ ${lambda}${lambdaScores.length > 0 ? ` (validation return ${lambdaScores.map(([l, v]) => `${l}: ${v.toFixed(3)}`).join(', ')})` : ''}`);
    }
    if (p.prior === 'ridge' && validator !== undefined && p.gamma > 0) {
      // φ₀ predicts the immediate reward, but Q also holds γ·V(s'): without a start value the first
      // TD errors are all this offset, and fitting it through the item-dependent weights tilts the
      // ranking towards whatever the replay recommended. The belief policy's own validation return
      // gives V ≈ r̄/(1 − γ) with r̄ its mean reward per step; the constant term (ranking-neutral) starts there.
      const r0 = lambdaScores.find(([l]) => l === lambda)?.[1] ?? (await validator(lambda)());
      online.b2[online.outDim - 1] = (p.gamma * (r0 / p.maxEpisodeSteps)) / (1 - p.gamma);
    }
    const params: DqnParams = { ...p, ridgeLambda: lambda };
    const prior = p.prior === 'ridge' ? episodePrior(lambda, memory) : undefined;
    const validate = validator?.(p.prior === 'ridge' ? lambda : undefined);
    options.progress?.start('dqn: steps', p.steps);
    const t0 = performance.now();
    let log: DqnLog;
    try {
      log = await trainDqn(online, target, env, { ...p, lr: p.prior === 'ridge' ? p.residualLr : p.lr }, rng.nextUint32(), {
        onProgress: (step, info) => options.progress?.update(step, { reward: info.reward.toFixed(3), loss: info.loss.toFixed(4), eps: info.epsilon.toFixed(2) }),
        ...(prior !== undefined ? { belief: { prior, memory } } : {}),
        ...(p.env === 'mf' ? { initialSkips: (u: number) => setup.startSkips[u] } : {}),
        ...(validate !== undefined ? { validate } : {}),
        ...(p.validateEvery > 0 ? { validateEvery: p.validateEvery } : {}),
        keepBest: p.keepBest === 1,
      });
    } finally {
      options.progress?.stop();
    }
    const seconds = (performance.now() - t0) / 1000;
    const curve = log.episodeReturns;
    const head = curve.slice(0, Math.max(1, Math.floor(curve.length / 10)));
    const tail = curve.slice(-Math.max(1, Math.floor(curve.length / 10)));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    options.log?.(`dqn: ${p.env} env, ${p.steps} steps × ${p.envs} episodes, ${log.updates} updates, ${log.episodes} episodes in ${seconds.toFixed(1)} s (PMF ${((t0 - started) / 1000).toFixed(1)} s); episode return first/last 10 % ${mean(head).toFixed(3)} → ${mean(tail).toFixed(3)}`);
    if (log.validation.length > 0) {
      const at = (step: number) => log.validation.find(([s]) => s === step)?.[1] ?? Number.NaN;
      options.log?.(`dqn: validation return (${setup.validation!.users.length} train users) ${log.validation.map(([s, v]) => `${s}: ${v.toFixed(3)}`).join(', ')}; kept step ${log.keptStep} (${at(log.keptStep).toFixed(3)} vs untrained ${at(0).toFixed(3)})`);
    }
    const { liked, skipped, likedRatings, skippedRatings } = userWindows(timelines, p.stateSize, p.positiveThreshold);
    // the trained model's belief: the PMF's rows and every training rating
    const evalMemory = new RewardMemory(nItems);
    const evalPrior = p.prior === 'ridge' ? priorFn(new RidgeBelief(pmf, lambda, p.userPrior === 1), p.stateSize, evalMemory, new TrainingRewards(timelines), p.episodeBelief === 1) : undefined;
    const info = { backend: 'typed-arrays', epochs: p.steps, samplesPerSecond: (log.updates * p.batchSize) / seconds, params: { ...params, lambdaScores, keptStep: log.keptStep } };
    return new DqnModel(online, nUsers, liked, skipped, info, log, evalPrior, evalMemory, { pmf, beliefPmf: pmf, params, likedRatings, skippedRatings });
  },
};
