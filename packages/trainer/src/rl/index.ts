export { STATE_PADDING, ratingReward, sampleUser, type Episode, type RecEnv, type StepResult } from './env.js';
export { RatingEnv, RATING_ENV_DEFAULTS, type RatingEnvOptions } from './rating-env.js';
export { MfEnv, MF_ENV_DEFAULTS, type MfEnvOptions } from './mf-env.js';
export { PMF_DEFAULTS, pmfPredict, pmfPredictAll, trainPmf, type PmfFactors, type PmfParams } from './pmf.js';
export { mfGreedyModel } from './mf-greedy.js';
export { rollout, type RolloutResult, type StatePolicy } from './rollout.js';
export { positiveItems, userTimelines, type UserTimelines } from './timelines.js';
export { DRR_DEFAULTS, DrrModel, drrModels, drrParams, fitDrr, pretrainEmbeddings, STATE_MODULES, type DrrParams, type StateModuleKind } from './drr/index.js';
