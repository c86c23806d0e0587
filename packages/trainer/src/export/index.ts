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
