export * from './types.js';
export {
  L2_EPSILON,
  buildGraph,
  exportGraphs,
  itemCountOf,
  itemVectors,
  referenceScores,
  referenceUserVectors,
  scoringOf,
  userCountOf,
  userVectorDim,
  validateExportSpec,
  type ExportedGraph,
  type GraphExportOptions,
  type ItemVectors,
} from './graphs.js';
export { buildRankerGraph, exportRankerGraph, referenceRankerScores } from './ranker-graph.js';
export { BUNDLE_FILES, writeBundle, type BundleRanker, type WriteBundleOptions, type WrittenBundle } from './bundle-writer.js';
export { writeModelBundle, writeTwoStageBundle } from './write-model-bundle.js';
export { KG_BUNDLE_FILE, KG_MODELS, bundleKgFor, kgSectionOf, lastFmKgNames, type BundleKg, type KgNames } from './kg-section.js';
export type { KgChoice } from './write-model-bundle.js';
export { RL_WEIGHTS_FILE, DQN_GRAPH, addDqnSection, addRlSection, dqnGraphSpec, isDqnBundleModel, isRlBundleModel, rlBundleParts, type DqnBundleModel, type RlBundleModel, type RlBundleParts } from './rl-bundle.js';
