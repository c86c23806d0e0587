import * as tf from '@tensorflow/tfjs-core';
import { TastemakerError, type DrrWeights } from '@tastemaker/core';
import type { Csr } from '../../data/dataset.js';
import { csrOfRows } from '../../data/csr.js';
import { initBackend } from '../../engine/backend.js';
import { Rng } from '../../engine/rng.js';
import type { ExportSpec } from '../../export/types.js';
import { BPR_DEFAULTS, trainBpr } from '../../models/bpr/index.js';
import type { FitOptions, ModelFactory, TrainedModel, TrainInfo, TrainSet } from '../../models/types.js';
import { checkScoreBatch, numberOption } from '../../models/validation.js';
import { STATE_PADDING } from '../env.js';
import { PMF_DEFAULTS, trainPmf } from '../pmf.js';
import { RatingEnv } from '../rating-env.js';
import { positiveItems, userTimelines } from '../timelines.js';
import { drrUserGraphExport, drrWeightsOf } from './export.js';
import { DrrNetworks } from './networks.js';
import { STATE_MODULES, type StateModuleKind } from './state-module.js';
import { gatherInputs, trainDrr, type DrrTrainParams, type Embeddings, type TrainLog } from './trainer.js';

export { STATE_MODULES, StateModule, stateDim, type StateModuleKind } from './state-module.js';
export { PrioritizedReplay, type ReplayBatch } from './replay.js';
export { DrrNetworks, ddpgUpdate } from './networks.js';
export { drrUserGraphExport, drrWeightsOf, graphStates, referenceActions } from './export.js';
export { trainDrr, gatherInputs, type DrrTrainParams, type Embeddings, type TrainLog } from './trainer.js';

/**
 * DRR (Liu et al. 2018) as a trainer model: pre-trained MF embeddings (fixed), one of the four state
 * modules, DDPG actor–critic trained in the offline rating environment (rl/rating-env.ts) on the
 * train part's users. score(u, i) = actor(state(u)) · item_i, where state(u) is the user's last
 * `stateSize` positive items in the training data, by time.
 *
 * Embeddings: `embeddings=bpr` (default) takes BPR-MF factors trained on the positives,
 * item_i = [Q_i, b_i], user_u = [P_u, 1] (so an action equal to a user row reproduces BPR);
 * `embeddings=pmf` takes the rating MF's [Q_i, b_i] / [P_u, 1] as in the paper.
 */

export interface DrrParams extends DrrTrainParams {
  stateSize: number;
  positiveThreshold: number;
  unratedPenalty: number;
  maxEpisodeSteps: number;
  actorHidden: number;
  criticHidden: number;
  embeddings: 'bpr' | 'pmf';
  /** actor skip connection from the MF user (see NetworkShape.skip); `--set skip=0` turns it off */
  skip: boolean;
  embeddingDim: number;
  embeddingEpochs: number;
}

export const DRR_DEFAULTS: DrrParams = {
  stateSize: 10,
  positiveThreshold: 4,
  unratedPenalty: -0.5,
  maxEpisodeSteps: 100,
  actorHidden: 128,
  criticHidden: 128,
  embeddings: 'bpr',
  skip: true,
  embeddingDim: 32,
  embeddingEpochs: 40,
  envs: 32,
  steps: 600,
  listSize: 10,
  updatesPerStep: 1,
  actorDelay: 200,
  priorWeight: 1,
  batchSize: 64,
  gamma: 0.9,
  tau: 0.01,
  actorLr: 1e-4,
  criticLr: 1e-3,
  noiseStd: 0.05,
  noiseMin: 0.01,
  noiseDecay: 0.998,
  replayCapacity: 100_000,
  alpha: 0.6,
  betaStart: 0.4,
};

const NUMERIC_KEYS = Object.keys(DRR_DEFAULTS).filter((k) => typeof DRR_DEFAULTS[k as keyof DrrParams] === 'number') as (keyof DrrParams)[];
const INTEGER_KEYS = new Set<keyof DrrParams>(['stateSize', 'maxEpisodeSteps', 'actorHidden', 'criticHidden', 'embeddingDim', 'embeddingEpochs', 'envs', 'steps', 'listSize', 'updatesPerStep', 'actorDelay', 'batchSize', 'replayCapacity']);

/** Effective hyper-parameters: FitOptions first (epochs → steps, dim → embeddingDim, lr → both learning rates), then `--set`, then defaults. */
export function drrParams(model: string, options: FitOptions): DrrParams {
  const extra = options.extra ?? {};
  const p: DrrParams = { ...DRR_DEFAULTS };
  const table = p as unknown as Record<string, number | string>;
  for (const key of NUMERIC_KEYS) {
    const integer = INTEGER_KEYS.has(key);
    const min = key === 'actorDelay' ? 0 : 1;
    table[key] = numberOption(model, key, extra[key], DRR_DEFAULTS[key] as number, integer ? (v) => Number.isInteger(v) && v >= min : (v) => Number.isFinite(v), integer ? `Use an integer ≥ ${min}.` : 'Use a finite number.');
  }
  const e = extra.embeddings ?? DRR_DEFAULTS.embeddings;
  if (e !== 'bpr' && e !== 'pmf') throw new TastemakerError('INVALID_CONFIG', `Invalid embeddings for ${model}: ${JSON.stringify(e)}. Valid: bpr, pmf.`, { got: e, valid: ['bpr', 'pmf'] });
  p.embeddings = e;
  const skip = extra.skip ?? DRR_DEFAULTS.skip;
  if (![true, false, 1, 0, '1', '0', 'true', 'false'].includes(skip as never)) {
    throw new TastemakerError('INVALID_CONFIG', `Invalid skip for ${model}: ${JSON.stringify(skip)}. Valid: 1, 0.`, { got: skip, valid: [1, 0] });
  }
  p.skip = skip === true || skip === 1 || skip === '1' || skip === 'true';
  if (options.epochs !== undefined) p.steps = options.epochs;
  if (options.dim !== undefined) p.embeddingDim = options.dim;
  if (options.learningRate !== undefined) p.actorLr = p.criticLr = options.learningRate;
  if (options.batchSize !== undefined) p.batchSize = options.batchSize;
  if (!(p.gamma >= 0 && p.gamma < 1)) throw new TastemakerError('INVALID_CONFIG', `Invalid gamma for ${model}: ${p.gamma}. Use a number in [0, 1).`);
  if (!(p.tau > 0 && p.tau <= 1)) throw new TastemakerError('INVALID_CONFIG', `Invalid tau for ${model}: ${p.tau}. Use a number in (0, 1].`);
  return p;
}

/** Fixed user/item embeddings for the networks, from BPR or PMF trained on the train part. */
export function pretrainEmbeddings(train: TrainSet, p: DrrParams, seed: number): Embeddings {
  const nUsers = train.dataset.users.size;
  const nItems = train.dataset.items.size;
  const k = p.embeddingDim;
  let P: Float32Array;
  let Q: Float32Array;
  let bias: Float32Array;
  if (p.embeddings === 'bpr') {
    const f = trainBpr(train.csr, { ...BPR_DEFAULTS, dim: k, epochs: p.embeddingEpochs }, seed);
    P = f.userFactors;
    Q = f.itemFactors;
    bias = f.itemBias;
  } else {
    const f = trainPmf(train.dataset.interactions, nUsers, nItems, { ...PMF_DEFAULTS, dim: k, epochs: p.embeddingEpochs }, seed);
    P = f.userFactors;
    Q = f.itemFactors;
    bias = f.itemBias;
  }
  const d = k + 1;
  const users = new Float32Array(nUsers * d);
  const items = new Float32Array(nItems * d);
  for (let u = 0; u < nUsers; u++) {
    users.set(P.subarray(u * k, (u + 1) * k), u * d);
    users[u * d + k] = 1;
  }
  for (let i = 0; i < nItems; i++) {
    items.set(Q.subarray(i * k, (i + 1) * k), i * d);
    items[i * d + k] = bias[i]!;
  }
  return { dim: d, users, items, nUsers, nItems };
}

export class DrrModel implements TrainedModel {
  readonly nUsers: number;
  readonly nItems: number;
  private disposed = false;

  constructor(
    readonly id: StateModuleKind,
    readonly networks: DrrNetworks,
    readonly embeddings: Embeddings,
    /** each known user's positive training items, oldest first */
    private readonly positives: Int32Array[],
    readonly info: TrainInfo,
    readonly log: TrainLog,
  ) {
    this.nUsers = embeddings.nUsers;
    this.nItems = embeddings.nItems;
  }

  get stateSize(): number {
    return this.networks.shape.stateSize;
  }

  /**
   * The state of each row: a known user's last stateSize positive training items (by time); an
   * unknown user's (or a known user without positives) last stateSize history items, taken as
   * oldest first. Padding at the front when there are fewer.
   */
  states(users: Int32Array, histories: readonly Int32Array[]): Int32Array {
    const n = this.stateSize;
    const out = new Int32Array(users.length * n).fill(STATE_PADDING);
    for (let b = 0; b < users.length; b++) {
      const u = users[b]!;
      const own = u >= 0 ? this.positives[u] : undefined;
      const src = own !== undefined && own.length > 0 ? own : histories[b]!;
      const take = src.subarray(Math.max(0, src.length - n));
      out.set(take, b * n + n - take.length);
    }
    return out;
  }

  /** The actor's action for each row, [users.length, dim]: the user vector the items are scored against. */
  async embedUsers(users: Int32Array, histories: readonly Int32Array[]): Promise<Float32Array> {
    checkScoreBatch(this.id, users, histories, this.nUsers, this.nItems);
    return this.actions(users, this.states(users, histories));
  }

  /** Actions for explicit states ([users.length, stateSize], oldest first, STATE_PADDING for empty). */
  actions(users: Int32Array, states: Int32Array): Float32Array {
    if (this.disposed) throw new TastemakerError('DISPOSED', `${this.id} model was disposed`);
    const { user, items } = gatherInputs(this.embeddings, users, states, this.stateSize);
    try {
      return tf.tidy(() => Float32Array.from(this.networks.act(user, items).dataSync()));
    } finally {
      user.dispose();
      items.dispose();
    }
  }

  async scoreBatch(users: Int32Array, histories: readonly Int32Array[]): Promise<Float32Array> {
    return this.scoreActions(await this.embedUsers(users, histories), users.length);
  }

  /** StatePolicy: scores for RL states, e.g. in a simulator rollout. */
  async scoreStates(users: Int32Array, states: Int32Array): Promise<Float32Array> {
    return this.scoreActions(this.actions(users, states), users.length);
  }

  get name(): string {
    return this.id;
  }

  private scoreActions(actions: Float32Array, rows: number): Float32Array {
    const d = this.embeddings.dim;
    return tf.tidy(() => {
      const a = tf.tensor2d(actions, [rows, d]);
      const e = tf.tensor2d(this.embeddings.items, [this.nItems, d]);
      return Float32Array.from(tf.matMul(a, tf.transpose(e)).dataSync());
    });
  }

  /** Actor and critic weights in core's layout, with the user rows for drr-u / drr-ave (whose state reads them). */
  drrWeights(): DrrWeights {
    if (this.disposed) throw new TastemakerError('DISPOSED', `${this.id} model was disposed`);
    const usesUser = this.id === 'drr-u' || this.id === 'drr-ave';
    return drrWeightsOf(this.networks, usesUser ? { rows: this.nUsers, values: this.embeddings.users } : undefined);
  }

  /**
   * Each known user's positive training items, oldest first: the bundle's history, so the user graph
   * (and core's DRR policy) read the same state as training did.
   */
  positivesCsr(): Csr {
    return csrOfRows(this.positives, this.nItems);
  }

  /** The actor with its state module as the bundle's user graph (embedding scoring against the item rows). */
  exportSpec(): ExportSpec {
    return drrUserGraphExport(this.drrWeights(), this.embeddings.items, this.nUsers, this.nItems);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.networks.dispose();
  }
}

/**
 * Fits DRR on `train`: embeddings pre-trained on `embeddingTrain` (default `train`), episodes over
 * `train`'s users. A different `embeddingTrain` exists for one purpose: reproducing the DRR
 * re-implementation's evaluation, whose embeddings saw every rating (bench/drr-reference.ts).
 */
export async function fitDrr(kind: StateModuleKind, train: TrainSet, options: FitOptions, embeddingTrain: TrainSet = train): Promise<DrrModel> {
  const p = drrParams(kind, options);
  if (embeddingTrain.dataset.users.size !== train.dataset.users.size || embeddingTrain.csr.cols !== train.csr.cols) {
    throw new TastemakerError('INVALID_ARGUMENT', `${kind}: the embeddings' train set must have the same users and items as the train set`);
  }
  const backend = await initBackend(options.backend);
  const started = performance.now();
  const emb = pretrainEmbeddings(embeddingTrain, p, options.seed);
  options.log?.(`${kind}: ${p.embeddings} embeddings (dim ${p.embeddingDim}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const timelines = userTimelines(train.dataset);
  const env = new RatingEnv(timelines, emb.nItems, {
    stateSize: p.stateSize,
    positiveThreshold: p.positiveThreshold,
    unratedPenalty: p.unratedPenalty,
    maxSteps: p.maxEpisodeSteps,
  });
  const rng = new Rng(options.seed);
  const networks = new DrrNetworks({ kind, stateSize: p.stateSize, dim: emb.dim, actorHidden: p.actorHidden, criticHidden: p.criticHidden, skip: p.skip }, rng.fork());
  const progress = options.progress;
  progress?.start(`${kind}: steps`, p.steps);
  const t0 = performance.now();
  let log: TrainLog;
  try {
    log = trainDrr(networks, emb, env, p, rng.nextUint32(), (step, info) => {
      progress?.update(step, { reward: info.reward!.toFixed(3), loss: info.criticLoss!.toFixed(3) });
    });
  } catch (e) {
    networks.dispose();
    throw e;
  } finally {
    progress?.stop();
  }
  const seconds = (performance.now() - t0) / 1000;
  options.log?.(
    `${kind}: ${p.steps} steps × ${p.envs} episodes, ${log.updates} updates, ${log.episodes} episodes finished in ${seconds.toFixed(1)} s; mean reward per step first/last block ${log.rewardCurve[0]?.toFixed(3)} → ${log.rewardCurve.at(-1)?.toFixed(3)}`,
  );
  const positives = timelines.items.map((items, u) => positiveItems(items, timelines.ratings[u]!, p.positiveThreshold));
  return new DrrModel(kind, networks, emb, positives, { backend: backend.name, epochs: p.steps, samplesPerSecond: (p.steps * p.envs) / seconds, params: { ...p } }, log);
}

function drrFactory(kind: StateModuleKind): ModelFactory {
  return {
    id: kind,
    description: `DRR (Liu et al. 2018) actor–critic with the ${kind.slice(4).toUpperCase()} state module over pre-trained MF embeddings, trained in the offline rating environment.`,
    fit: (train: TrainSet, options: FitOptions): Promise<TrainedModel> => fitDrr(kind, train, options),
  };
}

export const drrModels: Record<StateModuleKind, ModelFactory> = Object.fromEntries(STATE_MODULES.map((k) => [k, drrFactory(k)])) as Record<StateModuleKind, ModelFactory>;
