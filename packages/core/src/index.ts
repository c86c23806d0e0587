/**
 * Edge-safe entry of @tastemaker/core: nothing reachable from here may import node:*, onnxruntime-node
 * or hnswlib-node (src/edge-graph.test.ts walks the imports to keep it so). Node additions live in
 * node.ts.
 */
export * from './errors/index.js';
export * from './bundle/index.js';
export * from './inference/index.js';
export * from './retrieval/index.js';
export * from './recommender/index.js';
export * from './kg/index.js';
export * from './rl/index.js';
export * from './store/index.js';
export * from './policies/index.js';
