export { KG_FILE_FORMAT, KG_FILE_VERSION, MAX_KG_FILE_BYTES, MAX_KG_NAME_LENGTH, parseKgFile, type ItemKnowledgeGraph, type KgCounts } from './item-graph.js';
export { KG_CANDIDATE_DEFAULTS, kgCandidates, resolveKgCandidateOptions, type KgCandidateOptions } from './kg-candidates.js';
export { DEFAULT_RELATION_TEMPLATES, FALLBACK_TEMPLATE, compileTemplates, explainItems, type CompiledTemplates, type ExplainContext, type KgExplanation } from './explain.js';
export { entitySpecificity, relationWeightsOf } from './relation-weights.js';
export { KgStage, type KgCandidateMergeOptions, type RecommenderKgOptions } from './kg-stage.js';
