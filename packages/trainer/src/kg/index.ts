export { buildAdjacency, degreeOf, sampleNeighbors, selfNeighbors, validateKnowledgeGraph } from './adjacency.js';
export type { KgAdjacency, SampledNeighbors } from './adjacency.js';
export { buildItemKg, knowledgeGraphOf } from './item-kg.js';
export type { ItemKgOptions, NamedKnowledgeGraph } from './item-kg.js';
