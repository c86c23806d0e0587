/**
 * @tastemaker/trainer: read data, split it by a standard protocol, fit a model, evaluate it and
 * export it to a bundle that @tastemaker/core serves.
 */
export * from './data/index.js';
export * from './eval/index.js';
export * from './models/index.js';
export { silentProgress, type ProgressSink, type TrainInfo } from './models/types.js';
export * from './export/index.js';
export { GraphBuilder, DEFAULT_OPSET, DEFAULT_IR_VERSION } from './onnx/index.js';
export { initBackend } from './engine/backend.js';
export { Rng } from './engine/rng.js';
export { syntheticDataset, type SyntheticOptions } from './synthetic/index.js';
export { TRAINER_VERSION } from './version.js';
export * from './kg/index.js';
export * from './rl/index.js';
export { simulate, SIMULATE_POLICIES, type SimulateOptions, type SimulateResult, type SimulatePolicyId } from './rl/simulate.js';
