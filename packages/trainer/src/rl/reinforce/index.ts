import { TastemakerError } from '@tastemaker/core';
import { Rng } from '../../engine/rng.js';
import { csrOfRows } from '../../data/csr.js';
import type { ExportSpec, ServingHistory } from '../../export/types.js';
import { ArrayAdam } from '../../models/kgcn/array-adam.js';
import type { FitOptions, ModelFactory, TrainedModel, TrainInfo, TrainSet } from '../../models/types.js';
import { checkScoreBatch, numberOption } from '../../models/validation.js';
import { blockCurve, type LearningCurve } from '../curves/index.js';
import { pmfItemEmbeddings } from '../dqn/index.js';
import { STATE_PADDING } from '../env.js';
import { MfEnv } from '../mf-env.js';
import { PMF_DEFAULTS, trainPmf } from '../pmf.js';
import { rollout } from '../rollout.js';
import { positiveItems, userTimelines } from '../timelines.js';
import { reinforceUserGraphExport } from './export.js';
import { logSimulator, popularityBehaviour, type LoggedStep } from './logged.js';
import { stepsFromServingLog } from './serving-log.js';
import { SoftmaxPolicy, type BatchStats, type ReinforceTrainParams } from './policy.js';

export { clippedImportanceWeight, discountedReturns, topKCorrection } from './correction.js';
export { reinforceUserGraphExport } from './export.js';
export { logSimulator, loggedStepsFromStore, popularityBehaviour, type LoggedRecommendation, type LoggedStep } from './logged.js';
export { SoftmaxPolicy, softmax, type BatchStats, type PolicyShape, type ReinforceTrainParams } from './policy.js';

/**
 * `reinforce`: REINFORCE with the top-K off-policy correction (Chen et al. 2019) over a softmax on
 * the whole catalogue (rl/reinforce/policy.ts), trained purely off-policy from logged impressions.
 * In `fit` the log comes from a behaviour policy ("popularity with noise": items sampled ∝
 * (count + 1)^(1/temperature), exact propensities) playing an MF simulator of the train part, one
 * 20-step episode per train user per `logEpisodes`; `loggedStepsFromStore` turns the serving loop's
 * log into the same LoggedSteps (`trainReinforce` takes either).
 *
 * Variance controls, all settable with `--set`: weightCap (π/β clipped at 10), topK (λ_K's K = 10),
 * entropy (bonus η·H(π), 1e-3), baseline (mean logged return subtracted, on), beta=learned (a
 * separately trained β head replaces the logged propensities).
 */

export interface ReinforceParams extends ReinforceTrainParams {
  stateSize: number;
  hidden: number;
  epochs: number;
  gamma: number;
  temperature: number;
  logEpisodes: number;
  maxEpisodeSteps: number;
  positiveThreshold: number;
  embeddingDim: number;
  embeddingEpochs: number;
  beta: 'logged' | 'learned';
  /**
   * A server's SQLite store (`--set log=FILE`): train on the slates it served, with their logged
   * propensities and attributed rewards, instead of logging a behaviour policy in the simulator.
   */
  log?: string;
  /** train users whose greedy rollout gives the learning curve */
  curveUsers: number;
  curvePoints: number;
}

export const REINFORCE_DEFAULTS: ReinforceParams = {
  stateSize: 10,
  hidden: 64,
  epochs: 2,
  gamma: 0.5,
  temperature: 1,
  logEpisodes: 1,
  maxEpisodeSteps: 20,
  positiveThreshold: 4,
  embeddingDim: 32,
  embeddingEpochs: 25,
  beta: 'logged',
  curveUsers: 100,
  curvePoints: 10,
  topK: 10,
  weightCap: 10,
  entropy: 1e-3,
  lr: 1e-3,
  batchSize: 64,
  baseline: true,
};

const INTEGER_KEYS = new Set(['stateSize', 'hidden', 'epochs', 'logEpisodes', 'maxEpisodeSteps', 'embeddingDim', 'embeddingEpochs', 'curveUsers', 'curvePoints', 'topK', 'batchSize']);

export function reinforceParams(options: FitOptions): ReinforceParams {
  const model = 'reinforce';
  const extra = options.extra ?? {};
  const p: ReinforceParams = { ...REINFORCE_DEFAULTS };
  const table = p as unknown as Record<string, unknown>;
  for (const [key, def] of Object.entries(REINFORCE_DEFAULTS)) {
    if (typeof def !== 'number') continue;
    const integer = INTEGER_KEYS.has(key);
    const min = key === 'curveUsers' ? 0 : 1;
    const positive = key === 'weightCap' || key === 'lr' || key === 'temperature';
    table[key] = numberOption(model, key, extra[key], def, integer ? (v) => Number.isInteger(v) && v >= min : positive ? (v) => v > 0 : (v) => Number.isFinite(v) && v >= 0, integer ? `Use an integer ≥ ${min}.` : positive ? 'Use a number > 0.' : 'Use a number ≥ 0.');
  }
  const beta = extra.beta ?? REINFORCE_DEFAULTS.beta;
  if (beta !== 'logged' && beta !== 'learned') throw new TastemakerError('INVALID_CONFIG', `Invalid beta for ${model}: ${JSON.stringify(beta)}. Valid: logged, learned.`, { got: beta, valid: ['logged', 'learned'] });
  p.beta = beta;
  const b = extra.baseline ?? (REINFORCE_DEFAULTS.baseline ? 1 : 0);
  if (![0, 1, '0', '1', true, false].includes(b as never)) throw new TastemakerError('INVALID_CONFIG', `Invalid baseline for ${model}: ${JSON.stringify(b)}. Valid: 1, 0.`);
  p.baseline = b === 1 || b === '1' || b === true;
  if (options.epochs !== undefined) p.epochs = options.epochs;
  if (options.dim !== undefined) p.embeddingDim = options.dim;
  if (options.learningRate !== undefined) p.lr = options.learningRate;
  if (options.batchSize !== undefined) p.batchSize = options.batchSize;
  if (!(p.gamma >= 0 && p.gamma < 1)) throw new TastemakerError('INVALID_CONFIG', `Invalid gamma for ${model}: ${p.gamma}. Use a number in [0, 1).`);
  if (extra.log !== undefined) {
    if (typeof extra.log !== 'string' || extra.log === '') throw new TastemakerError('INVALID_CONFIG', `Invalid log for ${model}: ${JSON.stringify(extra.log)}. Give the path of a server's SQLite file.`);
    p.log = extra.log;
  }
  return p;
}

export interface ReinforceLog {
  /** per batch */
  stats: BatchStats[];
  /** greedy rollout reward per step on the curve users, [batches done, value] */
  curve: [number, number][];
  loggedSteps: number;
}

/** Trains `policy` on logged steps for `epochs` passes in seeded random order. */
export async function trainReinforce(
  policy: SoftmaxPolicy,
  steps: readonly LoggedStep[],
  p: ReinforceParams,
  rng: Rng,
  evaluate?: () => Promise<number>,
  onBatch?: (done: number, total: number, stats: BatchStats) => void,
): Promise<ReinforceLog> {
  if (steps.length === 0) throw new TastemakerError('INVALID_ARGUMENT', 'reinforce: no logged steps to learn from');
  const adam = new ArrayAdam(policy.params, p.lr);
  const betaAdam = policy.shape.learnedBeta ? new ArrayAdam(policy.betaParams, p.lr) : undefined;
  let baseline = 0;
  if (p.baseline) {
    for (const s of steps) baseline += s.ret;
    baseline /= steps.length;
  }
  const order = Int32Array.from({ length: steps.length }, (_, k) => k);
  const perEpoch = Math.ceil(steps.length / p.batchSize);
  const total = perEpoch * p.epochs;
  const every = Math.max(1, Math.floor(total / Math.max(1, p.curvePoints)));
  const log: ReinforceLog = { stats: [], curve: [], loggedSteps: steps.length };
  if (evaluate !== undefined) log.curve.push([0, await evaluate()]);
  let done = 0;
  for (let epoch = 0; epoch < p.epochs; epoch++) {
    rng.shuffle(order);
    for (let start = 0; start < steps.length; start += p.batchSize) {
      const batch = Array.from(order.subarray(start, Math.min(steps.length, start + p.batchSize)), (k) => steps[k]!);
      const stats = policy.trainBatch(batch, p, baseline, adam, betaAdam);
      log.stats.push(stats);
      done++;
      onBatch?.(done, total, stats);
      if (evaluate !== undefined && (done % every === 0 || done === total)) log.curve.push([done, await evaluate()]);
    }
  }
  return log;
}

export class ReinforceModel implements TrainedModel {
  readonly id = 'reinforce' as const;
  readonly nUsers: number;
  readonly nItems: number;
  private disposed = false;

  constructor(
    readonly policy: SoftmaxPolicy,
    nUsers: number,
    private readonly liked: Int32Array[],
    readonly stateSize: number,
    readonly info: TrainInfo,
    readonly log: ReinforceLog,
  ) {
    this.nUsers = nUsers;
    this.nItems = policy.nItems;
  }

  get name(): string {
    return this.id;
  }

  async scoreBatch(users: Int32Array, histories: readonly Int32Array[]): Promise<Float32Array> {
    if (this.disposed) throw new TastemakerError('DISPOSED', 'reinforce model was disposed');
    checkScoreBatch(this.id, users, histories, this.nUsers, this.nItems);
    const n = this.stateSize;
    const s = new Int32Array(users.length * n).fill(STATE_PADDING);
    for (let b = 0; b < users.length; b++) {
      const u = users[b]!;
      const own = u >= 0 ? this.liked[u] : undefined;
      const src = own !== undefined && own.length > 0 ? own : histories[b]!;
      const take = src.subarray(Math.max(0, src.length - n));
      s.set(take, b * n + n - take.length);
    }
    return this.policy.scores(s, n);
  }

  /** StatePolicy: π's logits for simulator states (greedy = top of π). */
  async scoreStates(users: Int32Array, states: Int32Array): Promise<Float32Array> {
    if (this.disposed) throw new TastemakerError('DISPOSED', 'reinforce model was disposed');
    return this.policy.scores(states, states.length / users.length);
  }

  learningCurve(): LearningCurve {
    return { policy: 'reinforce', x: 'batch (greedy rollout on train users)', y: 'mean reward per step', points: this.log.curve.map(([x, y]) => [x, y] as [number, number]) };
  }

  /** Per-batch training diagnostics as a curve (importance weights, clipping, entropy are in log.stats). */
  lossCurve(): LearningCurve {
    return blockCurve('reinforce loss', this.log.stats.map((s) => s.loss), 'batch', 50, 'corrected REINFORCE loss');
  }

  /** π's user side as the bundle's user graph, scored against V (see export.ts). */
  exportSpec(): ExportSpec {
    return reinforceUserGraphExport(this.policy, this.stateSize, this.nUsers);
  }

  /** The bundle's history: each known user's liked items oldest first, of which the graph reads the last stateSize, as scoreBatch does. */
  servingHistory(): ServingHistory {
    return { history: csrOfRows(this.liked, this.nItems), maxHistory: this.stateSize };
  }

  dispose(): void {
    this.disposed = true;
  }
}

export const reinforceModel: ModelFactory = {
  id: 'reinforce',
  description:
    'REINFORCE with the top-K off-policy correction (Chen et al. 2019): softmax policy over the catalogue, trained from logged impressions with propensities (a popularity behaviour policy in an MF simulator of the train part, or a server’s SQLite log with --set log=FILE).',
  async fit(train: TrainSet, options: FitOptions): Promise<TrainedModel> {
    const p = reinforceParams(options);
    const d = train.dataset;
    const rng = new Rng(options.seed);
    const pmf = trainPmf(d.interactions, d.users.size, d.items.size, { ...PMF_DEFAULTS, dim: p.embeddingDim, epochs: p.embeddingEpochs }, options.seed);
    const timelines = userTimelines(d);
    const initial = new Map<number, Int32Array>();
    const liked: Int32Array[] = timelines.items.map((items, u) => {
      const pos = positiveItems(items, timelines.ratings[u]!, p.positiveThreshold);
      if (pos.length >= p.stateSize) initial.set(u, pos.slice(0, p.stateSize));
      return pos;
    });
    if (initial.size === 0) throw new TastemakerError('INVALID_ARGUMENT', `reinforce: no training user has ${p.stateSize} liked items to start an episode`);
    const env = new MfEnv(pmf, initial, { stateSize: p.stateSize, positiveThreshold: p.positiveThreshold, maxSteps: p.maxEpisodeSteps, seed: options.seed });
    const logRng = rng.fork();
    let steps: LoggedStep[];
    if (p.log !== undefined) {
      const read = await stepsFromServingLog(p.log, d, { stateSize: p.stateSize, gamma: p.gamma });
      steps = read.steps;
      options.log?.(`reinforce: ${steps.length} logged steps from ${read.slates} slates of the serving log ${p.log}${read.skipped > 0 ? ` (${read.skipped} impressions of items not in the data set skipped)` : ''}`);
    } else {
      const counts = new Float64Array(d.items.size);
      for (const i of train.csr.indices) counts[i]!++;
      const behaviour = popularityBehaviour(counts, p.temperature);
      steps = [];
      for (let e = 0; e < p.logEpisodes; e++) steps.push(...logSimulator(env, env.users, behaviour, p.gamma, logRng));
    }
    const policy = new SoftmaxPolicy({ embDim: pmf.dim + 1, hidden: p.hidden, learnedBeta: p.beta === 'learned' }, pmfItemEmbeddings(pmf), rng.fork());
    const curveUsers = env.users.slice(0, Math.min(p.curveUsers, env.users.length));
    const scorer = { name: 'reinforce', scoreStates: async (_u: Int32Array, s: Int32Array) => policy.scores(s, p.stateSize) };
    const evaluate = p.curveUsers > 0 ? async () => (await rollout(env, scorer, curveUsers)).meanReturn / p.maxEpisodeSteps : undefined;
    options.progress?.start('reinforce: batches', Math.ceil(steps.length / p.batchSize) * p.epochs);
    const t0 = performance.now();
    let log: ReinforceLog;
    try {
      log = await trainReinforce(policy, steps, p, rng.fork(), evaluate, (done, _t, s) => options.progress?.update(done, { loss: s.loss.toFixed(3), w: s.meanWeight.toFixed(2) }));
    } finally {
      options.progress?.stop();
    }
    const seconds = (performance.now() - t0) / 1000;
    const last = log.stats.slice(-20);
    const avg = (f: (s: BatchStats) => number) => last.reduce((a, s) => a + f(s), 0) / Math.max(1, last.length);
    options.log?.(
      `reinforce: ${steps.length} logged steps × ${p.epochs} epochs in ${seconds.toFixed(1)} s; last batches: mean π/β weight ${avg((s) => s.meanWeight).toFixed(3)}, clipped ${(100 * avg((s) => s.clipped)).toFixed(1)} %, entropy ${avg((s) => s.entropy).toFixed(2)}; greedy reward/step on train users ${log.curve[0]?.[1].toFixed(3)} → ${log.curve.at(-1)?.[1].toFixed(3)}`,
    );
    return new ReinforceModel(policy, d.users.size, liked, p.stateSize, { backend: 'typed-arrays', epochs: p.epochs, samplesPerSecond: (steps.length * p.epochs) / seconds, params: { ...p } }, log);
  },
};
