import type { MiddlewareHandler } from 'hono';
import { ApiError } from './api-error.js';
import { requestHeader } from './request-header.js';

export interface ApiKeys {
  /** May call every route. */
  secret?: string | undefined;
  /** May only send events and fetch recommendations: safe to ship in a web page. */
  publishable?: string | undefined;
}

export type Access = 'publishable' | 'secret';

export function keysConfigured(keys: ApiKeys): boolean {
  return Boolean(keys.secret) || Boolean(keys.publishable);
}

/**
 * Bearer-key check. With no key configured everything is open (the node entry then listens on
 * localhost only). `allowQueryKey` lets the publishable key come as `?key=` for navigator.sendBeacon,
 * which cannot set headers; a secret key is never accepted in a URL, where logs and referrers keep it.
 */
export function requireKey(keys: ApiKeys, access: Access, options: { allowQueryKey?: boolean } = {}): MiddlewareHandler {
  const secret = keys.secret || undefined;
  const publishable = keys.publishable || undefined;
  return async (c, next) => {
    if (secret === undefined && publishable === undefined) return next();
    const header = requestHeader(c, 'authorization');
    let token: string | undefined;
    let fromQuery = false;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (match === null) throw unauthenticated('Malformed Authorization header: send "Authorization: Bearer <key>"');
      token = match[1];
    } else if (options.allowQueryKey) {
      token = c.req.query('key');
      fromQuery = token !== undefined;
    }
    if (token === undefined || token === '') throw unauthenticated('Missing API key: send "Authorization: Bearer <key>"');

    if (!fromQuery && secret !== undefined && safeEqual(token, secret)) return next();
    if (publishable !== undefined && safeEqual(token, publishable)) {
      if (access === 'publishable') return next();
      throw new ApiError(403, 'FORBIDDEN', 'This route needs the secret key; the publishable key may only send events and fetch recommendations');
    }
    throw unauthenticated(fromQuery ? 'Invalid API key (only the publishable key may be sent as ?key=)' : 'Invalid API key');
  };
}

function unauthenticated(message: string): ApiError {
  return new ApiError(401, 'UNAUTHENTICATED', message, { 'WWW-Authenticate': 'Bearer realm="tastemaker"' });
}

/** Compares in time that depends only on the lengths, so a wrong key's prefix cannot be found by timing. */
function safeEqual(a: string, b: string): boolean {
  const n = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < n; i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}
