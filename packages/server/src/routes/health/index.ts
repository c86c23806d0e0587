import { Hono } from 'hono';
import { errorBody } from '../../api-error.js';
import { requireKey } from '../../auth.js';
import type { ServerContext } from '../../context.js';

/** Liveness, readiness and Prometheus metrics. */
export function healthRoutes(ctx: ServerContext) {
  // Metrics reveal traffic and CTR, so they need the secret key whenever keys are in use.
  const metricsAuth = requireKey(ctx.keys, 'secret');
  return new Hono()
    .get('/healthz', (c) => c.json({ status: 'ok' as const }, 200))
    .get('/readyz', (c) => {
      if (!ctx.isReady()) return c.json(errorBody('NOT_READY', 'Policy state is still loading (or failed to; see the log)'), 503);
      return c.json({ status: 'ready' as const, model: ctx.slot.id, store: ctx.store.kind, policies: [...ctx.policies.keys()] }, 200);
    })
    .get('/metrics', metricsAuth, async (c) => c.body(await ctx.metrics.render(), 200, { 'Content-Type': ctx.metrics.contentType }));
}
