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
