export { DRR_STATE_MODULES, DRR_TENSORS, DrrNetwork, drrLayout, drrStateDim, drrTensorShapes, type DrrShape, type DrrStateModule, type DrrTensorName, type DrrTrace } from './drr-network.js';
export { DRR_LEARNER_DEFAULTS, DrrLearner, gatherState, gatherUser, type DrrLearnerOptions, type DrrTables, type DrrTransition } from './drr-learner.js';
export { decodeDrrWeights, encodeDrrWeights, type DrrWeights } from './drr-weights.js';
export { createDrrPolicy, drrModelFromBundle, DrrPolicy, type DrrModelData, type DrrPolicyOptions } from './drr-policy.js';
export { decodeDqnSideData, encodeDqnSideData, type DqnSideData } from './dqn-weights.js';
export { dqnBelief } from './dqn-belief.js';
export { createDqnPolicy, dqnPartsFromBundle, DqnPolicy, DQN_GRAPH_INPUTS, DQN_GRAPH_OUTPUT, type DqnModelData, type DqnPolicyOptions } from './dqn-policy.js';
export { BackgroundTrainer, type BackgroundTrainerOptions, type BackgroundPolicyStats } from './background-trainer.js';
