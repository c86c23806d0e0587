import { TastemakerError } from '@tastemaker/core';
import { timeOrderedRows } from '../data/csr.js';
import type { TrainedModel, TrainSet } from '../models/types.js';
import { TRAINER_VERSION } from '../version.js';
import { writeBundle, type WriteBundleOptions, type WrittenBundle } from './bundle-writer.js';
import type { ServingHistory } from './types.js';
import { bundleKgFor, KG_MODELS, type BundleKg } from './kg-section.js';
import { addDqnSection, addRlSection, isDqnBundleModel, rlBundleParts } from './rl-bundle.js';

/**
 * The bundle's knowledge graph: a prepared section, or a mode for bundleKgFor (`'auto'`, the
 * default, = when the data set has its own graph or the model trains on one).
 */
export type KgChoice = boolean | 'auto' | BundleKg;

/**
 * Writes the bundle of a fitted model: its export spec, the id maps and training histories of the
 * set it was fitted on, its effective params and backend in the manifest, and the knowledge graph
 * (see KgChoice).
 */
export async function writeModelBundle(
  dir: string,
  model: TrainedModel,
  train: TrainSet,
  extra: Partial<Omit<WriteBundleOptions, 'modelId' | 'spec' | 'dataset' | 'trainCsr' | 'kg'>> & { kg?: KgChoice } = {},
): Promise<WrittenBundle> {
  const { kg: kgChoice = 'auto', ...rest } = extra;
  const kg = typeof kgChoice === 'object' ? kgChoice : await bundleKgFor(train.dataset, model.id, kgChoice);
  // RL policies (DRR) read their state from each user's positives in time order and add an rl section;
  // REINFORCE reads its state the same way, without one.
  const rl = rlBundleParts(model);
  const served = rl ?? servingHistoryOf(model);
  const written = await writeBundle(dir, {
    modelId: model.id,
    spec: model.exportSpec(),
    dataset: train.dataset,
    trainCsr: served?.history ?? train.csr,
    params: model.info.params,
    backend: model.info.backend,
    trainerVersion: TRAINER_VERSION,
    ...(served ? { maxHistory: served.maxHistory } : {}),
    ...rest,
    ...(kg ? { kg } : {}),
  });
  if (rl) return addRlSection(written, rl);
  // DQN: the model section is its MF retrieval; the Q-network and its side data form the rl section
  return isDqnBundleModel(model) ? addDqnSection(written, model) : written;
}

function servingHistoryOf(model: TrainedModel): ServingHistory | undefined {
  const m = model as TrainedModel & { servingHistory?: () => ServingHistory };
  return typeof m.servingHistory === 'function' ? m.servingHistory() : undefined;
}

/**
 * Writes a two-stage bundle: `retrieval`'s graph (and items.f32) fetch candidates, `ranker`'s ranker
 * graph re-scores the top `candidates` of them. Both must have been fitted on `train`.
 */
export function writeTwoStageBundle(
  dir: string,
  models: { retrieval: TrainedModel; ranker: TrainedModel; candidates: number; rankerMetrics?: Record<string, number> },
  train: TrainSet,
  extra: Partial<Omit<WriteBundleOptions, 'modelId' | 'spec' | 'dataset' | 'trainCsr' | 'ranker' | 'kg'>> & { kg?: KgChoice } = {},
): Promise<WrittenBundle> {
  const spec = models.ranker.exportSpec();
  if (spec.kind !== 'ranker') {
    throw new TastemakerError('INVALID_ARGUMENT', `Model ${models.ranker.id} exports a ${spec.kind}, not a ranker; it cannot be the second stage.`, {
      model: models.ranker.id,
    });
  }
  // A ranker that reads the user's recent history (kg-song's GRU) must see it in the order it trained on.
  const served = spec.historyLength !== undefined ? { ...train, csr: timeOrderedRows(train.csr, train.dataset.interactions) } : train;
  return writeModelBundle(dir, models.retrieval, served, {
    ...extra,
    // A KG ranker (kg-song, kgcn) trained on the graph even when the retrieval model did not.
    kg: extra.kg ?? (KG_MODELS.includes(models.ranker.id) ? true : 'auto'),
    ranker: {
      modelId: models.ranker.id,
      spec,
      candidates: models.candidates,
      params: models.ranker.info.params,
      backend: models.ranker.info.backend,
      ...(models.rankerMetrics ? { metrics: models.rankerMetrics } : {}),
    },
  });
}
