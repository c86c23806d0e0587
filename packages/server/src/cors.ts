import type { MiddlewareHandler } from 'hono';
import type { CorsOptions } from './context.js';
import { requestHeader } from './request-header.js';

export interface CorsMiddlewareOptions extends CorsOptions {
  allowMethods: readonly string[];
  allowHeaders: readonly string[];
}

/**
 * CORS as hono's cors middleware does it (same headers, preflight answered 204), with one
 * difference that matters on every request: headers are set through c.header() before the route
 * runs, never through c.res. Reading c.res before a route has answered makes hono create a
 * placeholder Response, and then rebuild the route's response as a full web Response with a stream
 * body to merge the two, which cost more CPU than all of /healthz's own work.
 */
export function corsMiddleware(options: CorsMiddlewareOptions): MiddlewareHandler {
  const { origin } = options;
  const wildcard = origin === '*';
  const allowed: (requestOrigin: string) => string | null = wildcard
    ? () => '*'
    : typeof origin === 'string'
      ? (o) => (o === origin ? o : null)
      : (o) => (origin.includes(o) ? o : null);
  const preflight: Record<string, string> = {
    'Access-Control-Max-Age': String(options.maxAge ?? 600),
    'Access-Control-Allow-Methods': options.allowMethods.join(','),
    'Access-Control-Allow-Headers': options.allowHeaders.join(','),
    Vary: wildcard ? 'Access-Control-Request-Headers' : 'Origin, Access-Control-Request-Headers',
  };
  return async (c, next) => {
    const allow = allowed(requestHeader(c, 'origin') ?? '');
    if (c.req.method === 'OPTIONS') {
      return c.body(null, 204, allow === null ? preflight : { ...preflight, 'Access-Control-Allow-Origin': allow });
    }
    if (allow !== null) c.header('Access-Control-Allow-Origin', allow);
    // The answer depends on the Origin header unless every origin is allowed.
    if (!wildcard) c.header('Vary', 'Origin', { append: true });
    await next();
  };
}
