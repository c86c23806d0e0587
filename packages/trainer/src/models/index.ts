import { TastemakerError } from '@tastemaker/core';
import { bprModel } from './bpr/index.js';
import { easeModel } from './ease/index.js';
import { itemKnnModel } from './item-knn/index.js';
import { popularityModel } from './popularity/index.js';
import { twoTowerModel } from './two-tower/index.js';
import { MODEL_IDS, type FitOptions, type ModelFactory, type ModelId, type TrainedModel, type TrainSet } from './types.js';

export { MODEL_IDS };
export type { FitOptions, ModelFactory, ModelId, TrainedModel, TrainSet };
export { positivesTrainSet } from './train-set.js';

const REGISTRY: Record<ModelId, ModelFactory> = {
  popularity: popularityModel,
  'item-knn': itemKnnModel,
  ease: easeModel,
  bpr: bprModel,
  'two-tower': twoTowerModel,
};

export function getModel(id: string): ModelFactory {
  const factory = (REGISTRY as Record<string, ModelFactory | undefined>)[id];
  if (!factory) throw new TastemakerError('INVALID_CONFIG', `Unknown model ${JSON.stringify(id)}. Valid models: ${MODEL_IDS.join(', ')}.`, { got: id, valid: MODEL_IDS });
  return factory;
}

export function fitModel(id: string, train: TrainSet, options: FitOptions): Promise<TrainedModel> {
  return getModel(id).fit(train, options);
}
