export { DRR_STATE_MODULES, DRR_TENSORS, DrrNetwork, drrLayout, drrStateDim, drrTensorShapes, type DrrShape, type DrrStateModule, type DrrTensorName, type DrrTrace } from './drr-network.js';
export { DRR_LEARNER_DEFAULTS, DrrLearner, gatherState, gatherUser, type DrrLearnerOptions, type DrrTables, type DrrTransition } from './drr-learner.js';
export { decodeDrrWeights, encodeDrrWeights, type DrrWeights } from './drr-weights.js';
export { createDrrPolicy, drrModelFromBundle, DrrPolicy, type DrrModelData, type DrrPolicyOptions } from './drr-policy.js';
