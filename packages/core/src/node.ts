/**
 * Node entry of @tastemaker/core: everything from the edge entry plus the parts that need node
 * (file system bundles, onnxruntime-node, hnswlib-node).
 */
export * from './index.js';
export { directorySource } from './bundle/directory-source.js';
export { createNodeBackend, cudaUnavailableReason, NODE_DEVICES, type NodeDevice, type NodeBackendOptions } from './inference/node-backend.js';
export { AUTO_EXACT_FETCH_SHARE, HnswIndex, HNSW_DEFAULTS, loadHnswlib, type HnswOptions } from './retrieval/hnsw-index.js';
export {
  createRecommender,
  INDEX_CHOICES,
  HNSW_AUTO_MIN_ITEMS,
  SERVING_INTRA_OP_THREADS,
  type CreateRecommenderOptions,
  type IndexChoice,
} from './recommender/create-recommender.js';
export * from './store/node.js';
