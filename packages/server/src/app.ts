import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { routePath } from 'hono/route';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isTastemakerError, type BackgroundPolicyStats } from '@tastemaker/core/edge';
import { ApiError, errorBody, STATUS_BY_CORE_CODE, type ApiErrorCode } from './api-error.js';
import { createContext, type AppDeps, type ServerContext } from './context.js';
import { corsMiddleware } from './cors.js';
import { requestHeader } from './request-header.js';
import { docsRoutes } from './routes/docs/index.js';
import { eventsRoutes } from './routes/events/index.js';
import { healthRoutes } from './routes/health/index.js';
import { itemsRoutes } from './routes/items/index.js';
import { modelsRoutes } from './routes/models/index.js';
import { recommendRoutes } from './routes/recommend/index.js';
import { usersRoutes } from './routes/users/index.js';

const contexts = new WeakMap<object, ServerContext>();

/**
 * The Tastemaker HTTP API as a Hono app. Everything it touches comes in through deps (store, model,
 * policies, clock, logger), so tests drive it with app.request() and the same app runs on Node or at
 * the edge.
 */
export function createApp(deps: AppDeps) {
  const ctx = createContext(deps);
  const app = new Hono();

  app.onError((error, c) => errorResponse(ctx, error, c));
  app.notFound((c) => c.json(errorBody('NOT_FOUND', `No route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404));

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    // The route pattern, not the raw path, so ids in URLs do not explode label cardinality.
    const matched = routePath(c, -1);
    const route = c.res.status === 404 && (matched === '/*' || matched === '*') ? 'unmatched' : matched;
    ctx.metrics.observeRequest({ method: c.req.method, route, status: c.res.status }, (performance.now() - started) / 1000);
  });
  if (ctx.cors !== false) {
    app.use(
      '*',
      corsMiddleware({
        origin: ctx.cors.origin,
        allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
        allowHeaders: ['Authorization', 'Content-Type'],
        maxAge: ctx.cors.maxAge ?? 600,
      }),
    );
  }
  // A declared length over the limit is refused before anything else runs. Bodies are only read, with
  // the limit enforced while reading (chunked ones too), by the routes that take one (jsonBody); a
  // route that takes none leaves its body unread, as hono's bodyLimit would not (it reads every body
  // without a length, and its stream wrapping cost every POST more than its JSON parse).
  app.use('*', async (c, next) => {
    const declared = requestHeader(c, 'content-length');
    if (declared !== undefined && Number.parseInt(declared, 10) > ctx.limits.bodyBytes) {
      return c.json(errorBody('PAYLOAD_TOO_LARGE', `Request body over ${ctx.limits.bodyBytes} bytes`), 413);
    }
    await next();
  });

  const routes = app
    .route('/', healthRoutes(ctx))
    .route('/', docsRoutes())
    .route('/v1/recommend', recommendRoutes(ctx))
    .route('/v1/events', eventsRoutes(ctx))
    .route('/v1/items', itemsRoutes(ctx))
    .route('/v1/users', usersRoutes(ctx))
    .route('/v1/models', modelsRoutes(ctx));
  contexts.set(routes, ctx);
  return routes;
}

/** The app's type, for hono's typed client: `hc<AppType>(url)`. */
export type AppType = ReturnType<typeof createApp>;

/** Background learning of an app's policies (see core's BackgroundTrainer). */
export interface AppLearning {
  /** Resolves once queued updates have run and their state is checkpointed. */
  idle(): Promise<void>;
  /** Writes changed policy state now. */
  checkpoint(): Promise<void>;
  stats(): Map<string, BackgroundPolicyStats>;
}

/**
 * Lifecycle hooks of an app made by createApp: wait for stored state, background learning, release
 * the model. dispose() stops background learning and writes its last checkpoint before releasing
 * the model, so call it before closing the store.
 */
export function appLifecycle(app: AppType): { ready: Promise<void>; isReady(): boolean; learning: AppLearning; dispose(): Promise<void> } {
  const ctx = contexts.get(app);
  if (ctx === undefined) throw new TypeError('appLifecycle: not an app made by createApp');
  const trainer = ctx.learner.background;
  return {
    ready: ctx.ready,
    isReady: ctx.isReady,
    learning: { idle: () => trainer.idle(), checkpoint: () => trainer.checkpoint(), stats: () => trainer.stats() },
    async dispose() {
      try {
        await trainer.close();
      } finally {
        await ctx.slot.dispose();
      }
    },
  };
}

function errorResponse(ctx: ServerContext, error: Error, c: Context): Response {
  const send = (status: ContentfulStatusCode, code: ApiErrorCode, message: string, headers?: Record<string, string>) =>
    c.json(errorBody(code, message), status, headers);
  if (error instanceof ApiError) return send(error.status, error.code, error.message, error.headers);
  if (error instanceof HTTPException) {
    // Raised by hono itself: its JSON validator on a body that does not parse, or a body read limit.
    const status = error.status;
    if (status === 400) return send(400, /json/i.test(error.message) ? 'MALFORMED_JSON' : 'BAD_REQUEST', error.message || 'Bad request');
    if (status === 413) return send(413, 'PAYLOAD_TOO_LARGE', 'Request body too large');
    if (status === 401) return send(401, 'UNAUTHENTICATED', 'Missing or invalid API key');
    if (status < 500) return send(status as ContentfulStatusCode, 'BAD_REQUEST', error.message || 'Bad request');
  }
  if (isTastemakerError(error) && error.code !== 'INTERNAL') {
    const status = STATUS_BY_CORE_CODE[error.code];
    if (status < 500) return send(status as ContentfulStatusCode, error.code, error.message);
    ctx.logger.warn('request failed', { code: error.code, error, path: c.req.path });
    return send(503, 'NOT_READY', 'The model is not available right now; retry shortly');
  }
  // Anything else is a bug or an outage: the details go to the log, never to the client.
  ctx.logger.error('unhandled error', { error, method: c.req.method, path: c.req.path });
  return send(500, 'INTERNAL', 'Internal server error');
}
