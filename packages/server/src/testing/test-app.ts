// Test-only helpers: a tiny deterministic model and an app wired to a MemoryStore.
import { MemoryStore, type Store } from '@tastemaker/core/edge';
import { createApp } from '../app.js';
import type { AppDeps } from '../context.js';
import type { Logger } from '../logger.js';
import type { RecommendationSource, SourceRequest } from '../recommendation-source.js';

export interface TestSourceOptions {
  /** Item ids; item i scores n − i (the first is the best). Default item-0 … item-19. */
  items?: string[];
  modelId?: string;
  /** Length of the one-hot-ish feature vectors. Default 4. */
  dim?: number;
  /** Called before answering, e.g. to hold a request in flight. */
  beforeAnswer?: (request: SourceRequest) => Promise<void>;
}

export interface TestSource extends RecommendationSource {
  readonly requests: SourceRequest[];
  disposed: boolean;
}

export function testSource(options: TestSourceOptions = {}): TestSource {
  const items = options.items ?? Array.from({ length: 20 }, (_, i) => `item-${i}`);
  const dim = options.dim ?? 4;
  const known = new Set(items);
  const requests: SourceRequest[] = [];
  const features = new Map(items.map((id, i) => [id, Float32Array.from({ length: dim }, (_, j) => (j === i % dim ? 1 : 0))]));
  const source: TestSource = {
    modelId: options.modelId ?? 'test-model',
    featureDim: dim,
    requests,
    disposed: false,
    async recommend(request) {
      if (source.disposed) throw new Error('used after dispose');
      requests.push(request);
      await options.beforeAnswer?.(request);
      const skip = new Set([...(request.exclude ?? []), ...(request.excludeSeen === false ? [] : (request.history ?? []))]);
      return {
        model: source.modelId,
        items: items
          .map((itemId, i) => ({ itemId, score: items.length - i }))
          .filter((i) => !skip.has(i.itemId))
          .slice(0, request.k),
      };
    },
    hasItem: (id) => known.has(id),
    itemFeatures: (id) => features.get(id),
    userFeatures: ({ history }) => (history.length ? features.get(history[history.length - 1] as string) : undefined),
    info: () => ({ items: items.length }),
    dispose() {
      source.disposed = true;
    },
  };
  return source;
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown> | undefined;
}

export function memoryLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (message, fields) => lines.push({ level: 'info', message, fields }),
    warn: (message, fields) => lines.push({ level: 'warn', message, fields }),
    error: (message, fields) => lines.push({ level: 'error', message, fields }),
  };
}

export const SECRET = 'sk_test_secret';
export const PUBLISHABLE = 'pk_test_publishable';

export function createTestApp(overrides: Partial<AppDeps> & { store?: Store } = {}) {
  const store = overrides.store ?? new MemoryStore();
  const source = (overrides.recommender as TestSource | undefined) ?? testSource();
  const logger = memoryLogger();
  let time = 1_700_000_000_000;
  let ids = 0;
  const app = createApp({
    store,
    recommender: source,
    logger,
    clock: { now: () => time },
    newId: () => `rec-${++ids}`,
    ...overrides,
  });
  return {
    app,
    store,
    source,
    logger,
    tick: (ms: number) => (time += ms),
    /** JSON request helper: app.request with a body and the secret key unless told otherwise. */
    call: (method: string, path: string, body?: unknown, init: { key?: string | null; headers?: Record<string, string> } = {}) => {
      const headers: Record<string, string> = { ...init.headers };
      const key = init.key === undefined ? SECRET : init.key;
      if (key !== null) headers.authorization = `Bearer ${key}`;
      if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
      return app.request(path, { method, headers, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
    },
  };
}

export const keys = { secret: SECRET, publishable: PUBLISHABLE };

/** A click/impression event with defaults. */
export function ev(eventId: string, fields: Record<string, unknown> = {}) {
  return { eventId, type: 'click', userId: 'u1', itemId: 'item-0', ...fields };
}
