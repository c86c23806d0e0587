import type { Env, MiddlewareHandler } from 'hono';
import { validator } from 'hono/validator';
import type { z } from 'zod';
import { ApiError } from './api-error.js';

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** The first few zod issues as one readable line: "events.0.type: Invalid option…; k: Too big…". */
export function describeIssues(error: z.ZodError): string {
  const issues = error.issues.slice(0, 5).map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`);
  const more = error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : '';
  return issues.join('; ') + more;
}

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError(400, 'INVALID_ARGUMENT', describeIssues(parsed.error));
  return parsed.data;
}

function checkContentType(contentType: string | undefined, allowText: boolean): void {
  const media = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (JSON_TYPE.test(media)) return;
  // sendBeacon cannot set application/json without a CORS preflight, so the events route also takes
  // JSON sent as text/plain.
  if (allowText && media === 'text/plain') return;
  throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `Send the body as application/json${allowText ? ' (or text/plain holding JSON)' : ''}`);
}

/**
 * What a validator tells hono's RPC client (hc<AppType>): the schema's input type (defaults and
 * transforms not applied yet) goes in, its output comes out to the handler.
 */
type JsonIO<S extends z.ZodType> = { in: { json: z.input<S> }; out: { json: z.output<S> } };
/** Query values arrive as strings (or repeated strings) whatever the schema coerces them to. */
type QueryIO<S extends z.ZodType> = { in: { query: { [K in keyof z.input<S>]?: string | string[] } }; out: { query: z.output<S> } };

/** A JSON body validated by a zod schema. */
export function jsonBody<S extends z.ZodType, E extends Env = Env, P extends string = string>(
  schema: S,
  options: { allowText?: boolean } = {},
): MiddlewareHandler<E, P, JsonIO<S>> {
  // The body is read here rather than from hono's parsed value so that text/plain works too and a
  // malformed body gets our error code.
  const middleware = validator('json', async (_value, c): Promise<z.output<S>> => {
    checkContentType(c.req.header('content-type'), options.allowText ?? false);
    const text = await c.req.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ApiError(400, 'MALFORMED_JSON', 'The request body is not valid JSON');
    }
    return parseOrThrow(schema, body);
  });
  return middleware as unknown as MiddlewareHandler<E, P, JsonIO<S>>;
}

export function queryParams<S extends z.ZodType, E extends Env = Env, P extends string = string>(schema: S): MiddlewareHandler<E, P, QueryIO<S>> {
  const middleware = validator('query', (value): z.output<S> => parseOrThrow(schema, value));
  return middleware as unknown as MiddlewareHandler<E, P, QueryIO<S>>;
}

export function pathParams<S extends z.ZodType>(schema: S) {
  return validator('param', (value): z.output<S> => parseOrThrow(schema, value));
}
