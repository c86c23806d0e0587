export * from './manifest.js';
export { loadBundle, parseManifest, float32LE, uint32LE, type LoadedBundle } from './load-bundle.js';
export { memorySource, fetchSource, assertSafeFileName, type BundleSource, type FetchLike } from './source.js';
export { sha256Hex } from './sha256.js';
