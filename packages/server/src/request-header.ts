import type { Context } from 'hono';

type NodeHeaders = Record<string, string | string[] | undefined>;

/**
 * One request header by its lower-case name. On @hono/node-server (which passes node's
 * IncomingMessage as `c.env.incoming`) it reads node's own parsed headers: `c.req.header()` first
 * builds a web Headers object from all of them (undici, validating each), which cost ~8 µs of a
 * ~150 µs recommendation, the same again on every route that reads one header. Elsewhere (edge
 * runtimes, app.request in tests) it is `c.req.header()`.
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const headers = (c.env as { incoming?: { headers?: unknown } } | undefined)?.incoming?.headers;
  if (headers === null || typeof headers !== 'object') return c.req.header(name);
  const value = (headers as NodeHeaders)[name];
  // Node joins most repeated headers itself; the few it keeps as lists are joined as Headers.get does.
  return Array.isArray(value) ? value.join(', ') : value;
}
