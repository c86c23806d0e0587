/**
 * Edge-safe entry of @tastemaker/server: the Hono app factory and what it is built from. Nothing here
 * imports node:*, better-sqlite3 or prom-client; the Node server lives in ./node.ts.
 */
export { createApp, appLifecycle, type AppType, type AppLearning } from './app.js';
export type { AppDeps, Clock, CorsOptions, ModelCatalog, ModelDescriptor } from './context.js';
export { ApiError, errorBody, type ApiErrorCode, type ErrorBody } from './api-error.js';
export { requireKey, keysConfigured, type ApiKeys, type Access } from './auth.js';
export { createTextMetrics, LATENCY_BUCKETS, type Metrics, type TextMetricsOptions, type LearningStats } from './metrics.js';
export { createConsoleLogger, silentLogger, type Logger, type LogFields } from './logger.js';
export { ModelSlot } from './model-slot.js';
export { CandidateCache, type CandidateCacheOptions, type CandidateEntry, type CandidateTicket } from './candidate-cache.js';
export { fromRecommender, type RecommendationSource, type SourceRequest, type SourceItem, type BundleView } from './recommendation-source.js';
export { openApiDocument } from './openapi.js';
export type { RecommendResponse } from './routes/recommend/index.js';
export type { EventsResponse } from './routes/events/index.js';
