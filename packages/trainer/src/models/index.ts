import { TastemakerError } from '@tastemaker/core';
import { bprModel } from './bpr/index.js';
import { dlrmModel } from './dlrm/index.js';
import { easeModel } from './ease/index.js';
import { ffmModel } from './ffm/index.js';
import { fmModel } from './fm/index.js';
import { itemKnnModel } from './item-knn/index.js';
import { gmfModel, mlpModel, neumfModel } from './ncf/index.js';
import { kgcnModel } from './kgcn/index.js';
import { kgSongModel } from './kg-song/index.js';
import { lightGcnModel } from './lightgcn/index.js';
import { lrModel, poly2Model } from './linear/index.js';
import { popularityModel } from './popularity/index.js';
import { twoTowerModel } from './two-tower/index.js';
import { vaeCfModel } from './vae-cf/index.js';
import { wideDeepModel } from './wide-deep/index.js';
import { mfGreedyModel } from '../rl/mf-greedy.js';
import { drrModels } from '../rl/drr/index.js';
import { dqnModel } from '../rl/dqn/index.js';
import { reinforceModel } from '../rl/reinforce/index.js';
import { MODEL_IDS, type FitOptions, type ModelFactory, type ModelId, type TrainedModel, type TrainSet } from './types.js';

export { MODEL_IDS };
export type { FitOptions, ModelFactory, ModelId, TrainedModel, TrainSet };
export { positivesTrainSet } from './train-set.js';

const REGISTRY: Record<ModelId, ModelFactory> = {
  lr: lrModel,
  poly2: poly2Model,
  fm: fmModel,
  ffm: ffmModel,
  'wide-deep': wideDeepModel,
  dlrm: dlrmModel,
  kgcn: kgcnModel,
  lightgcn: lightGcnModel,
  'kg-song': kgSongModel,
  popularity: popularityModel,
  'item-knn': itemKnnModel,
  ease: easeModel,
  bpr: bprModel,
  'two-tower': twoTowerModel,
  gmf: gmfModel,
  mlp: mlpModel,
  neumf: neumfModel,
  'vae-cf': vaeCfModel,
  'mf-greedy': mfGreedyModel,
  'drr-n': drrModels['drr-n'],
  'drr-p': drrModels['drr-p'],
  'drr-u': drrModels['drr-u'],
  'drr-ave': drrModels['drr-ave'],
  dqn: dqnModel,
  reinforce: reinforceModel,
};

export function getModel(id: string): ModelFactory {
  const factory = (REGISTRY as Record<string, ModelFactory | undefined>)[id];
  if (!factory) throw new TastemakerError('INVALID_CONFIG', `Unknown model ${JSON.stringify(id)}. Valid models: ${MODEL_IDS.join(', ')}.`, { got: id, valid: MODEL_IDS });
  return factory;
}

export function fitModel(id: string, train: TrainSet, options: FitOptions): Promise<TrainedModel> {
  return getModel(id).fit(train, options);
}
