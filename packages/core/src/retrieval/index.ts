export type { ExcludeFilter, Metric, SearchHit, VectorIndex } from './types.js';
export { isExcluded } from './types.js';
export { topK } from './top-k.js';
export { ExactIndex, normalizeRows, METRICS, type ExactIndexOptions } from './exact-index.js';
