import { TastemakerError } from '@tastemaker/core';
import type { TrainedModel, TrainSet } from '../models/types.js';
import { TRAINER_VERSION } from '../version.js';
import { writeBundle, type WriteBundleOptions, type WrittenBundle } from './bundle-writer.js';

/**
 * Writes the bundle of a fitted model: its export spec, the id maps and training histories of the
 * set it was fitted on, and its effective params and backend in the manifest.
 */
export function writeModelBundle(
  dir: string,
  model: TrainedModel,
  train: TrainSet,
  extra: Partial<Omit<WriteBundleOptions, 'modelId' | 'spec' | 'dataset' | 'trainCsr'>> = {},
): Promise<WrittenBundle> {
  return writeBundle(dir, {
    modelId: model.id,
    spec: model.exportSpec(),
    dataset: train.dataset,
    trainCsr: train.csr,
    params: model.info.params,
    backend: model.info.backend,
    trainerVersion: TRAINER_VERSION,
    ...extra,
  });
}

/**
 * Writes a two-stage bundle: `retrieval`'s graph (and items.f32) fetch candidates, `ranker`'s ranker
 * graph re-scores the top `candidates` of them. Both must have been fitted on `train`.
 */
export function writeTwoStageBundle(
  dir: string,
  models: { retrieval: TrainedModel; ranker: TrainedModel; candidates: number; rankerMetrics?: Record<string, number> },
  train: TrainSet,
  extra: Partial<Omit<WriteBundleOptions, 'modelId' | 'spec' | 'dataset' | 'trainCsr' | 'ranker'>> = {},
): Promise<WrittenBundle> {
  const spec = models.ranker.exportSpec();
  if (spec.kind !== 'ranker') {
    throw new TastemakerError('INVALID_ARGUMENT', `Model ${models.ranker.id} exports a ${spec.kind}, not a ranker; it cannot be the second stage.`, {
      model: models.ranker.id,
    });
  }
  return writeModelBundle(dir, models.retrieval, train, {
    ...extra,
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
