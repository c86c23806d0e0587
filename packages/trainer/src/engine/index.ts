export { BACKEND_CANDIDATES, BACKEND_NAMES, currentBackend, initBackend } from './backend.js';
export type { BackendAttempt, BackendCandidate, BackendInfo } from './backend.js';
export { Dense, DenseAdam, Mlp, applyActivation, denseLayersToExport, forwardDenseLayers, glorotUniform, gradientStep } from './dense.js';
export type { Activation, DenseAdamOptions, DenseOptimizer, DenseSpec, GradientStepOptions, GradientStepResult } from './dense.js';
export { EmbeddingTable, RowGradientAccumulator, SparseAdagrad, SparseAdam } from './embedding-table.js';
export type { EmbeddingInit, SparseAdagradOptions, SparseAdamOptions, SparseOptimizer } from './embedding-table.js';
export { DIFFERENTIABLE_KERNELS, ensureGradients, matMul } from './gradients.js';
export { Rng } from './rng.js';
