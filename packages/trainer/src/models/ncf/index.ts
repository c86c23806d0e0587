/**
 * Neural collaborative filtering (He et al., WWW 2017): GMF, MLP and NeuMF, trained pointwise with
 * log loss on implicit positives and sampled negatives, exported as rankers (the second stage of a
 * two-stage bundle). See network.ts for the model, trainer.ts for training, export.ts for the graph.
 */
import { TastemakerError } from '@tastemaker/core';
import type { Csr } from '../../data/dataset.js';
import { initBackend } from '../../engine/backend.js';
import { Rng } from '../../engine/rng.js';
import type { RankerExport } from '../../export/types.js';
import { repeatRecentPositives } from '../pointwise/index.js';
import { type FitOptions, type ModelFactory, type ProgressSink, type TrainInfo, type TrainedModel, type TrainSet, silentProgress } from '../types.js';
import { ncfRankerExport } from './export.js';
import { type NcfNetwork, createNetwork, disposeNetwork, scoreAll, scorePairs } from './network.js';
import { type NcfParams, type NcfVariant, resolveNcfParams, stageParams } from './params.js';
import { type StageData, type StageResult, trainStage, validate } from './trainer.js';
import { type LooValidation, latestItems, leaveOneOutValidation } from './validation.js';

export { NCF_DEFAULTS, resolveNcfParams, type NcfParams, type NcfVariant } from './params.js';

export class NcfModel implements TrainedModel {
  readonly nUsers: number;
  readonly nItems: number;
  private disposed = false;

  constructor(
    readonly id: NcfVariant,
    private readonly net: NcfNetwork,
    readonly info: TrainInfo,
  ) {
    this.nUsers = net.nUsers;
    this.nItems = net.nItems;
  }

  /**
   * Logits of every item; a user outside [0, nUsers) is the mean user (NCF has no history input,
   * so an unknown user's history does not change the scores).
   */
  async scoreBatch(users: Int32Array, histories: readonly Int32Array[]): Promise<Float32Array> {
    this.assertLive();
    if (histories.length !== users.length) throw new TastemakerError('INVALID_ARGUMENT', `scoreBatch: ${users.length} users but ${histories.length} histories`);
    return scoreAll(this.net, users);
  }

  /** Logits of (users[b], items[b]) pairs, as the exported ranker graph computes them. */
  scorePairs(users: Int32Array, items: Int32Array): Float32Array {
    this.assertLive();
    if (users.length !== items.length) throw new TastemakerError('INVALID_ARGUMENT', `scorePairs: ${users.length} users but ${items.length} items`);
    for (const i of items) {
      if (!(i >= 0 && i < this.nItems)) throw new TastemakerError('INVALID_ARGUMENT', `scorePairs: item ${i} is outside [0, ${this.nItems})`);
    }
    return scorePairs(this.net, users, items);
  }

  exportSpec(): RankerExport {
    this.assertLive();
    return ncfRankerExport(this.net);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeNetwork(this.net);
  }

  private assertLive(): void {
    if (this.disposed) throw new TastemakerError('DISPOSED', `${this.id} model was disposed`);
  }
}

interface StageSummary {
  variant: NcfVariant;
  result: StageResult;
  /** trained on every positive with the schedule validation chose */
  refit: boolean;
}

/**
 * NeuMF with pre-training: GMF and MLP trained alone, then their embeddings and tower copied into
 * NeuMF, whose output layer is [α·h_GMF, (1 − α)·h_MLP] and bias the same mix (the paper's eq. 13).
 */
function combine(neumf: NcfNetwork, gmf: NcfNetwork, mlp: NcfNetwork, alpha: number): void {
  if (!neumf.gmf || !neumf.mlp || !gmf.gmf || !mlp.mlp) throw new TastemakerError('INTERNAL', 'NeuMF pre-training needs both parts');
  neumf.gmf.user.values.set(gmf.gmf.user.values);
  neumf.gmf.item.values.set(gmf.gmf.item.values);
  neumf.mlp.user.values.set(mlp.mlp.user.values);
  neumf.mlp.item.values.set(mlp.mlp.item.values);
  neumf.mlp.tower.layers.forEach((layer, k) => {
    const src = mlp.mlp?.tower.layers[k];
    if (!src) return;
    layer.weight.assign(src.weight);
    layer.bias.assign(src.bias);
  });
  const f = gmf.gmf.user.dim;
  const m = mlp.mlp.tower.outputDim;
  const h = neumf.out.values;
  for (let j = 0; j < f; j++) h[j] = alpha * (gmf.out.values[j] as number);
  for (let j = 0; j < m; j++) h[f + j] = (1 - alpha) * (mlp.out.values[j] as number);
  h[f + m] = alpha * (gmf.out.values[f] as number) + (1 - alpha) * (mlp.out.values[m] as number);
}

/** α values "auto" tries (on ML-1M ncf-loo 0.7 was best, validation NDCG@10 falling off both ways). */
const ALPHA_GRID = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];

/**
 * Combines the pre-trained parts with the given α, or with "auto" the α of ALPHA_GRID whose
 * combination ranks the validation positives best (NDCG@10; ties keep the one nearer 0.5).
 */
function combineBest(neumf: NcfNetwork, gmf: NcfNetwork, mlp: NcfNetwork, p: NcfParams, validation: LooValidation | undefined, log: (m: string) => void): number {
  if (p.alpha !== 'auto' || validation === undefined) {
    const alpha = p.alpha === 'auto' ? 0.5 : p.alpha;
    combine(neumf, gmf, mlp, alpha);
    return alpha;
  }
  let best = 0.5;
  let bestNdcg = Number.NEGATIVE_INFINITY;
  for (const alpha of [...ALPHA_GRID].sort((a, b) => Math.abs(a - 0.5) - Math.abs(b - 0.5))) {
    combine(neumf, gmf, mlp, alpha);
    const { ndcg } = validate(neumf, validation);
    log(`neumf alpha ${alpha} val ndcg@10 ${ndcg.toFixed(4)}`);
    if (ndcg > bestNdcg) {
      best = alpha;
      bestNdcg = ndcg;
    }
  }
  combine(neumf, gmf, mlp, best);
  return best;
}

/**
 * What validation decided: per stage (in training order) the epoch whose parameters were kept
 * (0 = the stage's starting point), and NeuMF's α. A refit replays it without validation.
 */
interface Schedule {
  epochs: number[];
  /** per stage, the epochs after which `plateauDecay` cut the learning rates */
  decays: number[][];
  alpha: number | undefined;
}

interface PipelineContext {
  variant: NcfVariant;
  p: NcfParams;
  nUsers: number;
  nItems: number;
  rng: Rng;
  log: (message: string) => void;
  progress: ProgressSink;
}

/**
 * Trains the variant's stages on `data`: with `replay` each stage runs exactly its scheduled
 * epochs (a stage scheduled for 0 epochs is skipped) and α is the scheduled one; otherwise epochs
 * end by early stopping and α is chosen on validation.
 */
async function trainPipeline(ctx: PipelineContext, data: StageData, replay: Schedule | undefined, stages: StageSummary[]): Promise<{ net: NcfNetwork; schedule: Schedule }> {
  const { variant, p, nUsers, nItems, rng, log, progress } = ctx;
  const prefix = replay ? `${variant}:refit` : variant;
  const kept: number[] = [];
  const decays: number[][] = [];
  const run = async (net: NcfNetwork, stage: NcfParams, pretrained = false): Promise<void> => {
    const k = kept.length;
    const fixed = replay?.epochs[k];
    if (fixed === 0) {
      kept.push(0);
      decays.push([]);
      return;
    }
    const result = await trainStage(net, data, fixed !== undefined ? { ...stage, epochs: fixed } : stage, rng.fork(), {
      label: net.variant === variant && !replay ? variant : `${prefix}${net.variant === variant ? '' : `:${net.variant}`}`,
      progress,
      log,
      learningRateFactor: pretrained ? p.finetuneLearningRateFactor : 1,
      validateInitial: pretrained,
      ...(replay ? { decayAfter: replay.decays[k] ?? [] } : {}),
    });
    kept.push(result.bestEpoch);
    decays.push(result.decayedAfter);
    stages.push({ variant: net.variant, result, refit: replay !== undefined });
  };

  const net = createNetwork(variant, nUsers, nItems, p, rng.fork());
  let alpha: number | undefined;
  try {
    if (variant === 'neumf' && p.pretrain) {
      const gmf = createNetwork('gmf', nUsers, nItems, p, rng.fork());
      const mlp = createNetwork('mlp', nUsers, nItems, p, rng.fork());
      try {
        await run(gmf, stageParams(p, 'gmf'));
        await run(mlp, stageParams(p, 'mlp'));
        const fixedAlpha = replay?.alpha;
        if (fixedAlpha !== undefined) {
          combine(net, gmf, mlp, fixedAlpha);
          alpha = fixedAlpha;
        } else {
          alpha = combineBest(net, gmf, mlp, p, data.validation, log);
        }
      } finally {
        disposeNetwork(gmf);
        disposeNetwork(mlp);
      }
      await run(net, p, true);
    } else {
      await run(net, p);
    }
  } catch (e) {
    disposeNetwork(net);
    throw e;
  }
  return { net, schedule: { epochs: kept, decays, alpha } };
}

async function fitNcf(variant: NcfVariant, train: TrainSet, options: FitOptions): Promise<TrainedModel> {
  const p = resolveNcfParams(variant, options);
  const backend = await initBackend(p.backend);
  const log = options.log ?? (() => {});
  const progress = options.progress ?? silentProgress;
  const { dataset, csr } = train;
  const nUsers = Math.max(dataset.users.size, csr.rows);
  const nItems = Math.max(dataset.items.size, csr.cols);
  const full = csr.rows === nUsers && csr.cols === nItems ? csr : { ...csr, rows: nUsers, cols: nItems, indptr: padIndptr(csr.indptr, nUsers) };
  const rng = new Rng(p.seed);
  // Recency weighting repeats entries of the training matrix only; `exclude` keeps every positive once.
  const weighted = (positives: Csr): Csr => repeatRecentPositives(positives, dataset.interactions, p.recencyWindow, p.recencyRepeats);
  // Built when used: with validation, only a refit trains on every positive.
  const everything = (): StageData => ({ train: weighted(full), exclude: full, validation: undefined });
  let data: StageData;
  if (p.validation) {
    const preferred = p.validationHoldout === 'latest' ? latestItems(dataset.interactions, nUsers) : undefined;
    const split = leaveOneOutValidation(full, p.validationNegatives, rng.fork(), preferred);
    data = { train: weighted(split.train), exclude: full, validation: split.validation };
  } else data = everything();
  const stages: StageSummary[] = [];
  const t0 = performance.now();
  const ctx: PipelineContext = { variant, p, nUsers, nItems, rng, log, progress };
  const first = await trainPipeline(ctx, data, undefined, stages);
  let net = first.net;
  const chosen = first.schedule;
  if (p.refit && data.validation) {
    // Validation has done its job (epochs, α); the held-out positives are training data again.
    log(`${variant} refit on all positives: stage epochs ${chosen.epochs.join(', ')}${chosen.alpha !== undefined ? `, alpha ${chosen.alpha}` : ''}`);
    disposeNetwork(net);
    net = (await trainPipeline(ctx, everything(), chosen, stages)).net;
  }
  const alpha = chosen.alpha;
  const seconds = (performance.now() - t0) / 1000;
  const samples = stages.reduce((s, st) => s + st.result.samples, 0);
  const trainSeconds = stages.reduce((s, st) => s + st.result.seconds, 0);
  const last = stages[stages.length - 1]?.result;
  const info: TrainInfo = {
    backend: variant === 'gmf' ? 'typed-arrays' : backend.name,
    epochs: last?.epochs.length ?? 0,
    samplesPerSecond: samples / Math.max(trainSeconds, 1e-9),
    params: {
      ...p,
      mlpLayers: p.mlpLayers.join('-'),
      ...(alpha !== undefined ? { alpha } : {}),
      trainSeconds: Number(seconds.toFixed(3)),
      stages: stages.map((s) => ({
        variant: s.variant,
        ...(s.refit ? { refit: true } : {}),
        bestEpoch: s.result.bestEpoch,
        ...(s.result.decayedAfter.length > 0 ? { decayedAfter: s.result.decayedAfter } : {}),
        samples: s.result.samples,
        epochs: s.result.epochs.map((e) => ({ ...e, loss: Number(e.loss.toFixed(5)), seconds: Number(e.seconds.toFixed(2)) })),
      })),
    },
  };
  return new NcfModel(variant, net, info);
}

/** A CSR with `rows` rows: users past the matrix's end have no positives. */
function padIndptr(indptr: Int32Array, rows: number): Int32Array {
  if (indptr.length === rows + 1) return indptr;
  const out = new Int32Array(rows + 1).fill(indptr[indptr.length - 1] ?? 0);
  out.set(indptr.subarray(0, Math.min(indptr.length, rows + 1)));
  return out;
}

export const gmfModel: ModelFactory = {
  id: 'gmf',
  description: 'GMF (He et al. 2017): element-wise product of user and item embeddings, weighted; pointwise log loss with sampled negatives',
  ranker: true,
  fit: (train, options) => fitNcf('gmf', train, options),
};

export const mlpModel: ModelFactory = {
  id: 'mlp',
  description: 'NCF MLP (He et al. 2017): concatenated user and item embeddings through a ReLU tower (64-32-16-8); pointwise log loss',
  ranker: true,
  fit: (train, options) => fitNcf('mlp', train, options),
};

export const neumfModel: ModelFactory = {
  id: 'neumf',
  description: 'NeuMF (He et al. 2017): GMF and MLP fused in one output layer, optional GMF+MLP pre-training (--set pretrain=true); a ranker',
  ranker: true,
  fit: (train, options) => fitNcf('neumf', train, options),
};
