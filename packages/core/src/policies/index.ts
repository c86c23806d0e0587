export * from './types.js';
export { createRng, randomSeed, type Rng } from './rng.js';
export { GreedyPolicy, RandomPolicy, StatelessPolicy } from './baseline-policies.js';
export { EpsilonGreedyPolicy, type EpsilonGreedyOptions } from './epsilon-greedy.js';
export { ThompsonSamplingPolicy, type ThompsonSamplingOptions } from './thompson-sampling.js';
export { LinUcbPolicy, LINUCB_MODES, LINUCB_FEATURES, type LinUcbOptions, type LinUcbMode, type LinUcbFeatures } from './linucb.js';
export { createRewardMap, rewardMapSchema, type RewardMapConfig, type RewardFunction } from './reward-map.js';
export { OnlineLearner, type OnlineLearnerOptions, type LearnOutcome } from './online-learner.js';
export { createPolicy, type PolicyConfig } from './create-policy.js';
