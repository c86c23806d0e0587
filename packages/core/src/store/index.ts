export * from './types.js';
export { MemoryStore } from './memory-store.js';
