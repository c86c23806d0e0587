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
import { positiveItems, userTimelines, type UserTimelines } from '../timelines.js';
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
 * Where it trains (`env`): `mf` (default) — an MF simulator built from a PMF fitted on the train
 * part only, episodes of 20 steps from each train user's first N liked items (the same shape as
 * `tastemaker simulate`'s episodes, so skips carry meaning); `rating` — the offline rating
 * environment (rl/rating-env.ts: a skip is a recommended item the user did not rate ≥ 4, unrated
 * items earn the penalty). Item embeddings are that PMF's [Q_i, b_i] (the paper pre-trains with MF).
 *
 * `prior=ridge` (default) adds a belief φ₀(s) (rl/dqn/belief.ts) to φ(s): a ridge fold-in of the
 * ratings observed for the state's items. For a known user (`userPrior=1`) it is centred on the
 * user's PMF row and counts only the rewards observed in the current episode (so an untrained DQN
 * ranks nearly like mf-greedy until feedback arrives: the output layer starts near 0); for an
 * unknown user, or with userPrior=0, it is centred on 0 and reads training ratings too, with
 * default ratings for liked/skipped items it has no value for. `prior=none` is the plain DEERS
 * network. In the train-part simulator a train user's PMF row is exact, so there the belief is
 * already right and Q-learning has little to correct.
 */

export const DQN_ENVS = ['mf', 'rating'] as const;

export interface DqnParams extends DqnTrainParams {
  env: (typeof DQN_ENVS)[number];
  stateSize: number;
  hidden: number;
  mlpHidden: number;
  prior: 'ridge' | 'none';
  /** ridge strength of the prior's fold-in */
  ridgeLambda: number;
  /** the ridge pulls a known user towards their PMF row (1) or towards 0 (0) */
  userPrior: number;
  /** the belief's user rows come from each user's ratings up to their N-th liked item only (1), or from the full PMF (0) */
  coldUsers: number;
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
  ridgeLambda: 0.3,
  userPrior: 1,
  coldUsers: 0,
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
  epsStart: 1,
  epsMin: 0.05,
  epsDecay: 0.99,
  replayCapacity: 50_000,
  alpha: 0.6,
  betaStart: 0.4,
};

const INTEGER_KEYS = new Set(['stateSize', 'hidden', 'mlpHidden', 'embeddingDim', 'embeddingEpochs', 'maxEpisodeSteps', 'envs', 'steps', 'batchSize', 'updatesPerStep', 'warmup', 'targetEvery', 'replayCapacity']);

/** Effective hyper-parameters: FitOptions (epochs → steps, dim → embeddingDim, lr, batchSize), then `--set key=value`, then defaults. */
export function dqnParams(options: FitOptions): DqnParams {
  const model = 'dqn';
  const extra = options.extra ?? {};
  const p: DqnParams = { ...DQN_DEFAULTS };
  const table = p as unknown as Record<string, unknown>;
  for (const [key, def] of Object.entries(DQN_DEFAULTS)) {
    if (typeof def !== 'number') continue;
    const integer = INTEGER_KEYS.has(key);
    const min = key === 'targetEvery' || key === 'warmup' ? 0 : 1;
    table[key] = numberOption(model, key, extra[key], def, integer ? (v) => Number.isInteger(v) && v >= min : (v) => Number.isFinite(v), integer ? `Use an integer ≥ ${min}.` : 'Use a finite number.');
  }
  const env = extra.env ?? DQN_DEFAULTS.env;
  if (!(DQN_ENVS as readonly unknown[]).includes(env)) throw new TastemakerError('INVALID_CONFIG', `Invalid env for ${model}: ${JSON.stringify(env)}. Valid: ${DQN_ENVS.join(', ')}.`, { got: env, valid: DQN_ENVS });
  p.env = env as DqnParams['env'];
  const prior = extra.prior ?? DQN_DEFAULTS.prior;
  if (prior !== 'ridge' && prior !== 'none') throw new TastemakerError('INVALID_CONFIG', `Invalid prior for ${model}: ${JSON.stringify(prior)}. Valid: ridge, none.`, { got: prior, valid: ['ridge', 'none'] });
  p.prior = prior;
  if (p.coldUsers !== 0 && p.coldUsers !== 1) throw new TastemakerError('INVALID_CONFIG', `Invalid coldUsers for ${model}: ${p.coldUsers}. Valid: 1, 0.`, { got: p.coldUsers, valid: [1, 0] });
  if (p.userPrior !== 0 && p.userPrior !== 1) throw new TastemakerError('INVALID_CONFIG', `Invalid userPrior for ${model}: ${p.userPrior}. Valid: 1, 0.`, { got: p.userPrior, valid: [1, 0] });
  if (!(p.ridgeLambda > 0)) throw new TastemakerError('INVALID_CONFIG', `Invalid ridgeLambda for ${model}: ${p.ridgeLambda}. Use a number > 0.`);
  if (options.epochs !== undefined) p.steps = options.epochs;
  if (options.dim !== undefined) p.embeddingDim = options.dim;
  if (options.learningRate !== undefined) p.lr = options.learningRate;
  if (options.batchSize !== undefined) p.batchSize = options.batchSize;
  if (!(p.gamma >= 0 && p.gamma < 1)) throw new TastemakerError('INVALID_CONFIG', `Invalid gamma for ${model}: ${p.gamma}. Use a number in [0, 1).`);
  if (!(p.tau > 0 && p.tau <= 1)) throw new TastemakerError('INVALID_CONFIG', `Invalid tau for ${model}: ${p.tau}. Use a number in (0, 1].`);
  if (!(p.epsStart >= 0 && p.epsStart <= 1 && p.epsMin >= 0 && p.epsMin <= p.epsStart && p.epsDecay > 0 && p.epsDecay <= 1)) {
    throw new TastemakerError('INVALID_CONFIG', `Invalid exploration for ${model}: need 0 ≤ epsMin ≤ epsStart ≤ 1 and 0 < epsDecay ≤ 1.`);
  }
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

/** The prior φ₀ for a batch: episode rewards first, then training ratings, then liked/skipped defaults. */
function priorFn(belief: RidgeBelief, n: number, memory: RewardMemory, known: TrainingRewards): PriorFn {
  return (users, states) => {
    const rows = users.length;
    const out = new Float32Array(rows * belief.outDim);
    for (let b = 0; b < rows; b++) {
      const u = users[b]!;
      const rewardOf = belief.userPrior && u >= 0 ? (i: number) => memory.get(u, i) : (i: number) => memory.get(u, i) ?? known.get(u, i);
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
  /** the PMF the belief φ₀ folds in from (user rows possibly refitted, coldUsers=1) */
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

/** The environment the DQN trains in, with the PMF whose item factors are its embeddings. */
export function dqnEnvironment(train: TrainSet, p: DqnParams, seed: number): { env: RecEnv; pmf: PmfFactors; timelines: UserTimelines } {
  const d = train.dataset;
  const pmf = trainPmf(d.interactions, d.users.size, d.items.size, { ...PMF_DEFAULTS, dim: p.embeddingDim, epochs: p.embeddingEpochs }, seed);
  const timelines = userTimelines(d);
  let env: RecEnv;
  if (p.env === 'rating') {
    env = new RatingEnv(timelines, d.items.size, { stateSize: p.stateSize, positiveThreshold: p.positiveThreshold, unratedPenalty: p.unratedPenalty, maxSteps: p.maxEpisodeSteps });
  } else {
    const initial = new Map<number, Int32Array>();
    timelines.items.forEach((items, u) => {
      const pos = positiveItems(items, timelines.ratings[u]!, p.positiveThreshold);
      if (pos.length >= p.stateSize) initial.set(u, pos.slice(0, p.stateSize));
    });
    env = new MfEnv(pmf, initial, { stateSize: p.stateSize, positiveThreshold: p.positiveThreshold, unratedPenalty: p.unratedPenalty, maxSteps: p.maxEpisodeSteps, seed });
  }
  return { env, pmf, timelines };
}

export const dqnModel: ModelFactory = {
  id: 'dqn',
  description: 'DQN with negative feedback (DEERS-style): GRUs over the liked and skipped items, Q(s, a) against MF item embeddings, target network, prioritised replay, ε-greedy; trained in an MF simulator of the train part.',
  async fit(train: TrainSet, options: FitOptions): Promise<TrainedModel> {
    const p = dqnParams(options);
    const started = performance.now();
    const { env, pmf, timelines } = dqnEnvironment(train, p, options.seed);
    if (env.users.length === 0) throw new TastemakerError('INVALID_ARGUMENT', `dqn: no training user has ${p.stateSize} liked items to start an episode`);
    const rng = new Rng(options.seed);
    const items = pmfItemEmbeddings(pmf);
    const shape = { seqLen: p.stateSize, embDim: pmf.dim + 1, hidden: p.hidden, mlpHidden: p.mlpHidden, smallOutput: p.prior !== 'none' };
    const online = new QNetwork(shape, items, rng.fork());
    const target = online.clone();
    options.progress?.start('dqn: steps', p.steps);
    const t0 = performance.now();
    let log: DqnLog;
    let prior: PriorFn | undefined;
    let trainMemory: RewardMemory | undefined;
    let evalPrior: PriorFn | undefined;
    let evalMemory: RewardMemory | undefined;
    let beliefPmf = pmf;
    try {
      const known = new TrainingRewards(timelines);
      beliefPmf = p.coldUsers === 1 ? coldUserRows(pmf, timelines, p.stateSize, p.positiveThreshold, { ...PMF_DEFAULTS, dim: p.embeddingDim, epochs: p.embeddingEpochs }, options.seed) : pmf;
      const belief = p.prior === 'ridge' ? new RidgeBelief(beliefPmf, p.ridgeLambda, p.userPrior === 1) : undefined;
      const memory = new RewardMemory(train.dataset.items.size);
      trainMemory = memory;
      prior = belief !== undefined ? priorFn(belief, p.stateSize, memory, known) : undefined;
      evalMemory = new RewardMemory(train.dataset.items.size);
      evalPrior = belief !== undefined ? priorFn(belief, p.stateSize, evalMemory, known) : undefined;
      log = trainDqn(
        online,
        target,
        env,
        p,
        rng.nextUint32(),
        (step, info) => options.progress?.update(step, { reward: info.reward.toFixed(3), loss: info.loss.toFixed(4), eps: info.epsilon.toFixed(2) }),
        prior !== undefined ? { prior, memory } : undefined,
      );
    } finally {
      options.progress?.stop();
    }
    const seconds = (performance.now() - t0) / 1000;
    const curve = log.episodeReturns;
    const head = curve.slice(0, Math.max(1, Math.floor(curve.length / 10)));
    const tail = curve.slice(-Math.max(1, Math.floor(curve.length / 10)));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    options.log?.(`dqn: ${p.env} env, ${p.steps} steps × ${p.envs} episodes, ${log.updates} updates, ${log.episodes} episodes in ${seconds.toFixed(1)} s (PMF ${((t0 - started) / 1000).toFixed(1)} s); episode return first/last 10 % ${mean(head).toFixed(3)} → ${mean(tail).toFixed(3)}`);
    const { liked, skipped, likedRatings, skippedRatings } = userWindows(timelines, p.stateSize, p.positiveThreshold);
    trainMemory?.clear();
    const info = { backend: 'typed-arrays', epochs: p.steps, samplesPerSecond: (log.updates * p.batchSize) / seconds, params: { ...p } };
    return new DqnModel(online, train.dataset.users.size, liked, skipped, info, log, evalPrior, evalMemory, { pmf, beliefPmf, params: p, likedRatings, skippedRatings });
  },
};
