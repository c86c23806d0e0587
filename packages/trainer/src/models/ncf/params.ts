import { TastemakerError } from '@tastemaker/core';
import type { FitOptions } from '../types.js';

export type NcfVariant = 'gmf' | 'mlp' | 'neumf';

/**
 * Hyper-parameters of the NCF family (He et al., WWW 2017). Names are the `--set key=value` keys;
 * `--dim`, `--epochs`, `--batch-size`, `--lr` and `--l2` map to gmfDim, epochs, batchSize,
 * learningRate and l2.
 */
export interface NcfParams {
  variant: NcfVariant;
  /** GMF predictive factors (width of p_u ⊙ q_i) */
  gmfDim: number;
  /**
   * MLP tower as in the paper's "64-32-16-8": the first width is the concatenated user+item
   * embedding (half each), the others are ReLU layers; the last one is the MLP's predictive factors.
   */
  mlpLayers: number[];
  /** sampled negatives per positive (the paper's ratio, default 4) */
  negatives: number;
  /** most epochs per training stage; early stopping usually ends sooner */
  epochs: number;
  batchSize: number;
  /** Adam step of the dense layers and the output layer */
  learningRate: number;
  /** lazy-Adam step of the embedding tables */
  embeddingLearningRate: number;
  /** L2 on touched embedding rows */
  l2: number;
  /** std of the normal initialisation of embeddings (the paper: 0.01) */
  initStd: number;
  /** hold one positive per user out of training and stop on its NDCG@10 among `validationNegatives` */
  validation: boolean;
  validationNegatives: number;
  /**
   * Which positive a user gives up for validation: "random" (default) or "latest" (by timestamp).
   * Measured on ML-1M ncf-loo, holding out the latest item costs test accuracy: the test item is the
   * user's last one and the second-to-last, rated in the same session, is its best predictor.
   */
  validationHoldout: 'random' | 'latest';
  /** epochs without validation improvement before stopping */
  patience: number;
  /** NeuMF only: initialise from separately trained GMF and MLP (the paper's pre-training) */
  pretrain: boolean;
  /**
   * NeuMF with pre-training: weight of the GMF half of the output layer (the paper's α, which it
   * fixes at 0.5). "auto" picks it from a grid by validation NDCG@10, since the two halves come
   * from separately trained models whose logit scales differ; 0.5 without validation.
   */
  alpha: number | 'auto';
  /**
   * NeuMF with pre-training: negatives per positive of the GMF stage (0 = `negatives`). GMF runs on
   * typed arrays, so more negatives there cost little next to the MLP stage; on ML-1M ncf-loo 8
   * gave GMF a better validation NDCG@10 than 4.
   */
  gmfStageNegatives: number;
  /** NeuMF with pre-training: negatives per positive of the MLP stage (0 = `negatives`) */
  mlpStageNegatives: number;
  /**
   * After validation has chosen each stage's epochs (and α), train the same schedule again from
   * scratch on every training positive, the validation ones folded back in, as He et al. train on
   * all but the test item. Costs a second training; no effect with `validation=false`. Off by
   * default: on a validation proxy (ML-1M, GMF, a second held-out positive per user as the test)
   * refitting moved HR@10 by +0.003 and NDCG@10 by −0.0001, no clear gain for twice the time.
   */
  refit: boolean;
  /** NeuMF with pre-training: learning-rate factor of the joint stage (its Adam starts with no moments) */
  finetuneLearningRateFactor: number;
  /**
   * On a validation plateau (`patience` epochs without a better NDCG@10), multiply every learning
   * rate of the stage by this factor and go on instead of stopping, up to `plateauDecays` times
   * (0 = off: stop at the first plateau). Needs validation. Off by default: on ML-1M ncf-loo it
   * raised NeuMF's validation NDCG@10 (random held-out positive) but not its test scores (the latest).
   */
  plateauDecay: number;
  /** most learning-rate cuts per stage with `plateauDecay` */
  plateauDecays: number;
  /**
   * Recency weighting: each user's `recencyWindow` latest training positives (by timestamp) are
   * trained `1 + recencyRepeats` times per epoch, negatives included (0 = off, the default, as in
   * the paper). For next-item use and protocols such as ncf-loo, whose test item is the latest.
   */
  recencyWindow: number;
  /** extra passes over each recent positive per epoch with `recencyWindow` */
  recencyRepeats: number;
  seed: number;
  backend: string;
}

/** Defaults chosen on ML-1M ncf-loo for a 2-core machine: large batches keep wasm's matmuls busy. */
export const NCF_DEFAULTS = {
  gmfDim: 32,
  mlpLayers: [64, 32, 16, 8],
  negatives: 4,
  epochs: 20,
  batchSize: 2048,
  learningRate: 0.002,
  embeddingLearningRate: 0.002,
  l2: 0,
  initStd: 0.01,
  validation: true,
  validationNegatives: 99,
  validationHoldout: 'random',
  patience: 2,
  pretrain: false,
  alpha: 'auto',
  gmfStageNegatives: 0,
  mlpStageNegatives: 0,
  refit: false,
  finetuneLearningRateFactor: 0.25,
  plateauDecay: 0,
  plateauDecays: 2,
  recencyWindow: 0,
  recencyRepeats: 3,
} as const;

function invalid(variant: NcfVariant, key: string, message: string, got: unknown): TastemakerError {
  return new TastemakerError('INVALID_CONFIG', `${variant}: ${key} ${message}, got ${JSON.stringify(got)}`, { option: key, got });
}

export function resolveNcfParams(variant: NcfVariant, options: FitOptions): NcfParams {
  const x = options.extra ?? {};
  const holdout = (v: unknown): NcfParams['validationHoldout'] => {
    if (v === 'random' || v === 'latest') return v;
    throw new TastemakerError('INVALID_CONFIG', `${variant}: validationHoldout must be one of "random", "latest", got ${JSON.stringify(v)}`, {
      option: 'validationHoldout',
      got: v,
      valid: ['random', 'latest'],
    });
  };
  const alphaNumber = (v: unknown): number => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
    if (!(n >= 0 && n <= 1)) throw invalid(variant, 'alpha', 'must be "auto" or a number in [0, 1]', v);
    return n;
  };
  const num = (key: string, fallback: number): number => {
    const v = x[key];
    if (v === undefined) return fallback;
    const n = typeof v === 'number' ? v : Number(v);
    if (typeof v === 'boolean' || !Number.isFinite(n)) throw invalid(variant, key, 'must be a number', v);
    return n;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = x[key];
    if (v === undefined) return fallback;
    if (v === true || v === 'true' || v === 1 || v === '1') return true;
    if (v === false || v === 'false' || v === 0 || v === '0') return false;
    throw invalid(variant, key, 'must be true or false', v);
  };
  const list = (key: string, fallback: readonly number[]): number[] => {
    const v = x[key];
    if (v === undefined) return [...fallback];
    const out = String(v)
      .trim()
      .split(/[-,x ]+/)
      .map(Number);
    if (out.length < 2 || out.some((n) => !Number.isInteger(n) || n <= 0)) {
      throw invalid(variant, key, 'must list at least two positive widths, e.g. 64-32-16-8', v);
    }
    return out;
  };
  const d = NCF_DEFAULTS;
  const learningRate = options.learningRate ?? num('learningRate', d.learningRate);
  const p: NcfParams = {
    variant,
    gmfDim: options.dim ?? num('gmfDim', d.gmfDim),
    mlpLayers: list('mlpLayers', d.mlpLayers),
    negatives: num('negatives', d.negatives),
    epochs: options.epochs ?? num('epochs', d.epochs),
    batchSize: options.batchSize ?? num('batchSize', d.batchSize),
    learningRate,
    embeddingLearningRate: num('embeddingLearningRate', options.learningRate !== undefined ? learningRate : d.embeddingLearningRate),
    l2: options.l2 ?? num('l2', d.l2),
    initStd: num('initStd', d.initStd),
    validation: bool('validation', d.validation),
    validationNegatives: num('validationNegatives', d.validationNegatives),
    validationHoldout: holdout(x.validationHoldout ?? d.validationHoldout),
    patience: num('patience', d.patience),
    pretrain: bool('pretrain', d.pretrain),
    alpha: x.alpha === undefined ? d.alpha : x.alpha === 'auto' ? 'auto' : alphaNumber(x.alpha),
    gmfStageNegatives: num('gmfStageNegatives', d.gmfStageNegatives),
    mlpStageNegatives: num('mlpStageNegatives', d.mlpStageNegatives),
    refit: bool('refit', d.refit),
    finetuneLearningRateFactor: num('finetuneLearningRateFactor', d.finetuneLearningRateFactor),
    plateauDecay: num('plateauDecay', d.plateauDecay),
    plateauDecays: num('plateauDecays', d.plateauDecays),
    recencyWindow: num('recencyWindow', d.recencyWindow),
    recencyRepeats: num('recencyRepeats', d.recencyRepeats),
    seed: options.seed,
    backend: options.backend ?? 'auto',
  };
  for (const key of ['gmfDim', 'epochs', 'batchSize', 'validationNegatives', 'patience'] as const) {
    if (!Number.isInteger(p[key]) || p[key] <= 0) throw invalid(variant, key, 'must be a positive integer', p[key]);
  }
  if (!(p.negatives > 0)) throw invalid(variant, 'negatives', 'must be > 0 (a pointwise model needs negatives)', p.negatives);
  if (p.mlpLayers[0] !== undefined && p.mlpLayers[0] % 2 !== 0) {
    throw invalid(variant, 'mlpLayers', 'must start with an even width (half user, half item embedding)', p.mlpLayers.join('-'));
  }
  for (const key of ['learningRate', 'embeddingLearningRate', 'initStd', 'finetuneLearningRateFactor'] as const) {
    if (!(p[key] > 0)) throw invalid(variant, key, 'must be > 0', p[key]);
  }
  for (const key of ['gmfStageNegatives', 'mlpStageNegatives'] as const) {
    if (!(p[key] >= 0)) throw invalid(variant, key, 'must be >= 0 (0 = negatives)', p[key]);
  }
  if (!(p.l2 >= 0)) throw invalid(variant, 'l2', 'must be >= 0', p.l2);
  if (!(p.plateauDecay >= 0 && p.plateauDecay < 1)) throw invalid(variant, 'plateauDecay', 'must be in [0, 1) (0 = off)', p.plateauDecay);
  for (const key of ['plateauDecays', 'recencyWindow', 'recencyRepeats'] as const) {
    if (!Number.isInteger(p[key]) || p[key] < 0) throw invalid(variant, key, 'must be a non-negative integer', p[key]);
  }
  return p;
}

/** The parameters a stage of pre-training runs with: the same settings for another variant. */
export function stageParams(p: NcfParams, variant: NcfVariant): NcfParams {
  const own = variant === 'gmf' ? p.gmfStageNegatives : variant === 'mlp' ? p.mlpStageNegatives : 0;
  const negatives = own > 0 ? own : p.negatives;
  return { ...p, variant, negatives, pretrain: false };
}
