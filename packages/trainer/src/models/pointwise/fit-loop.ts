/**
 * The epoch loop every pointwise model shares: build labelled pairs (the data set's explicit labels,
 * or implicit positives with freshly sampled negatives each epoch), hold out a per-user validation
 * part, train epoch by epoch, stop when validation AUC stops improving and restore the best epoch.
 */
import { TastemakerError } from '@tastemaker/core';
import type { Csr } from '../../data/dataset.js';
import { Rng } from '../../engine/rng.js';
import { auc } from '../../eval/metrics.js';
import { logLossFromLogits } from '../../eval/ctr-metrics.js';
import { silentProgress, type FitOptions, type ProgressSink, type TrainSet } from '../types.js';
import { numberOption } from '../validation.js';
import { EarlyStopping } from './early-stopping.js';
import { NegativeSampler, shufflePairs, type LabelledPairs } from './labelled-pairs.js';
import { holdOutPositives, splitPairsByUser } from './validation-split.js';
import { csrHas } from '../../data/csr.js';

export const LABEL_MODES = ['auto', 'explicit', 'implicit'] as const;
export type LabelMode = (typeof LABEL_MODES)[number];

/** What the loop needs of a model. `S` is a snapshot of its parameters. */
export interface PointwiseLearner<S> {
  /** One pass over `pairs` in the given order; returns the mean training loss. */
  trainEpoch(pairs: LabelledPairs, rng: Rng): number | Promise<number>;
  /** Logits of (users[b], items[b]). */
  scorePairs(users: Int32Array, items: Int32Array): Float32Array | Promise<Float32Array>;
  capture(): S;
  restore(state: S): void;
}

export interface PointwiseOptions {
  /** maximum epochs */
  epochs: number;
  /** implicit mode: sampled negatives per positive (fresh each epoch) */
  negatives: number;
  /**
   * explicit: every training interaction is an example, labelled 1 if it is among the TrainSet's
   * positives (its CSR) and 0 otherwise; implicit: the CSR's positives plus sampled negatives;
   * auto: explicit when the data set holds interactions that are not positives, else implicit.
   */
  labels: LabelMode;
  /** fraction of each user's examples held out for early stopping; 0 trains all epochs on everything */
  validation: number;
  /** epochs without a better validation AUC before stopping */
  patience: number;
  seed: number;
}

export const POINTWISE_DEFAULTS = { negatives: 4, labels: 'auto', validation: 0.1, patience: 3 } as const;

/** Loop options from FitOptions and `--set negatives=… validation=… patience=… labels=…`. */
export function pointwiseOptions(model: string, options: FitOptions, defaultEpochs: number): PointwiseOptions {
  const x = options.extra ?? {};
  const labels = String(x.labels ?? POINTWISE_DEFAULTS.labels);
  if (!(LABEL_MODES as readonly string[]).includes(labels)) {
    throw new TastemakerError('INVALID_CONFIG', `Invalid labels for ${model}: ${JSON.stringify(labels)}. Valid values: ${LABEL_MODES.join(', ')}.`, {
      option: 'labels',
      got: labels,
      valid: LABEL_MODES,
    });
  }
  return {
    epochs: numberOption(model, 'epochs', options.epochs ?? x.epochs, defaultEpochs, (v) => Number.isInteger(v) && v >= 1, 'It must be an integer ≥ 1.'),
    negatives: numberOption(model, 'negatives', x.negatives, POINTWISE_DEFAULTS.negatives, (v) => Number.isFinite(v) && v >= 0, 'It must be a number ≥ 0.'),
    labels: labels as LabelMode,
    validation: numberOption(model, 'validation', x.validation, POINTWISE_DEFAULTS.validation, (v) => v >= 0 && v < 1, 'It must be in [0, 1).'),
    patience: numberOption(model, 'patience', x.patience, POINTWISE_DEFAULTS.patience, (v) => Number.isInteger(v) && v >= 1, 'It must be an integer ≥ 1.'),
    seed: options.seed,
  };
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  validationAuc?: number;
  validationLogloss?: number;
}

export interface PointwiseFitResult {
  labels: 'explicit' | 'implicit';
  epochs: number;
  bestEpoch?: number;
  bestValidationAuc?: number;
  /** training examples per epoch */
  examples: number;
  /** examples per second of training (validation scoring excluded) */
  samplesPerSecond: number;
  trainSeconds: number;
  history: EpochRecord[];
}

/** Every training interaction, labelled by membership in the positives CSR. */
export function trainSetLabelledPairs(train: TrainSet): LabelledPairs {
  const { user, item } = train.dataset.interactions;
  const label = new Float32Array(user.length);
  for (let r = 0; r < user.length; r++) label[r] = csrHas(train.csr, user[r] as number, item[r] as number) ? 1 : 0;
  return { user: Int32Array.from(user), item: Int32Array.from(item), label };
}

/** Whether the TrainSet carries explicit negatives (interactions outside its positives). */
export function hasExplicitNegatives(train: TrainSet): boolean {
  const { user, item } = train.dataset.interactions;
  for (let r = 0; r < user.length; r++) if (!csrHas(train.csr, user[r] as number, item[r] as number)) return true;
  return false;
}

export async function fitPointwise<S>(
  name: string,
  learner: PointwiseLearner<S>,
  train: TrainSet,
  options: PointwiseOptions,
  progress: ProgressSink = silentProgress,
  log: (message: string) => void = () => {},
): Promise<PointwiseFitResult> {
  const rng = new Rng(options.seed);
  const mode = options.labels === 'auto' ? (hasExplicitNegatives(train) ? 'explicit' : 'implicit') : options.labels;
  let trainPairs: LabelledPairs | undefined;
  let sampler: NegativeSampler | undefined;
  let validation: LabelledPairs | undefined;
  if (mode === 'explicit') {
    const all = trainSetLabelledPairs(train);
    if (options.validation > 0) {
      const split = splitPairsByUser(all, options.validation, rng.fork());
      trainPairs = split.train;
      validation = split.validation;
    } else trainPairs = all;
  } else {
    let positives = train.csr;
    if (options.validation > 0) {
      const split = holdOutPositives(train.csr, options.validation, rng.fork());
      positives = split.train;
      // fixed validation negatives, never a training positive: the metric must not move because the draw did
      validation = new NegativeSampler(split.validation, { ratio: Math.max(1, options.negatives), exclude: train.csr }).sample(rng.fork());
    }
    sampler = new NegativeSampler(positives, { ratio: options.negatives, exclude: train.csr });
  }
  if (validation !== undefined && (validation.user.length === 0 || validation.label.every((l) => l === validation?.label[0]))) validation = undefined;

  const stopper = validation ? new EarlyStopping<S>({ patience: options.patience, capture: () => learner.capture(), restore: (s) => learner.restore(s) }) : undefined;
  const history: EpochRecord[] = [];
  let trainMs = 0;
  let examplesSeen = 0;
  let examples = 0;
  progress.start(name, options.epochs);
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const epochRng = rng.fork();
      const pairs = sampler ? sampler.sample(epochRng) : (trainPairs as LabelledPairs);
      shufflePairs(pairs, epochRng);
      examples = pairs.user.length;
      const t0 = performance.now();
      const loss = await learner.trainEpoch(pairs, epochRng);
      trainMs += performance.now() - t0;
      examplesSeen += pairs.user.length;
      const record: EpochRecord = { epoch, loss };
      if (validation && stopper) {
        const logits = await learner.scorePairs(validation.user, validation.item);
        record.validationAuc = auc(logits, validation.label);
        record.validationLogloss = logLossFromLogits(logits, validation.label);
      }
      history.push(record);
      progress.update(epoch, { loss: Number(loss.toFixed(4)), ...(record.validationAuc !== undefined ? { auc: Number(record.validationAuc.toFixed(4)) } : {}) });
      log(`${name} epoch ${epoch}: loss ${loss.toFixed(4)}${record.validationAuc !== undefined ? `, validation auc ${record.validationAuc.toFixed(4)} logloss ${(record.validationLogloss ?? Number.NaN).toFixed(4)}` : ''}`);
      if (!Number.isFinite(loss)) {
        throw new TastemakerError('INVALID_CONFIG', `${name}: training loss became ${loss} in epoch ${epoch}; lower the learning rate.`, { epoch, loss });
      }
      if (stopper && stopper.observe(epoch, record.validationAuc ?? Number.NaN) === 'stop') break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    progress.stop();
  }
  if (stopper?.restoreBest()) log(`${name}: restored epoch ${stopper.bestEpoch} (validation auc ${(stopper.bestValue ?? Number.NaN).toFixed(4)})`);
  const trainSeconds = trainMs / 1000;
  return {
    labels: mode,
    epochs: history.length,
    ...(stopper?.bestEpoch !== undefined ? { bestEpoch: stopper.bestEpoch, bestValidationAuc: stopper.bestValue as number } : {}),
    examples,
    samplesPerSecond: trainSeconds > 0 ? examplesSeen / trainSeconds : 0,
    trainSeconds,
    history,
  };
}
