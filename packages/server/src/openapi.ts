import { z } from 'zod';
import { errorSchema } from './schemas.js';
import { eventsRequestDocSchema, eventsResponseSchema } from './routes/events/index.js';
import { itemListQuerySchema, itemPatchSchema, itemSchema, itemsBatchSchema, itemWriteSchema } from './routes/items/index.js';
import { modelListSchema } from './routes/models/index.js';
import { recommendQuerySchema, recommendRequestSchema, recommendResponseSchema } from './routes/recommend/index.js';
import { userQuerySchema, userSchema, userWriteSchema } from './routes/users/index.js';

type Access = 'none' | 'publishable' | 'secret';

interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  summary: string;
  access: Access;
  body?: z.ZodType;
  query?: z.ZodType;
  response?: z.ZodType;
  /** Non-JSON success body, e.g. text/plain metrics. */
  responseType?: string;
  status?: number;
  errors: number[];
}

const id = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string', minLength: 1, maxLength: 256 } });

const OPERATIONS: Operation[] = [
  { method: 'post', path: '/v1/recommend', summary: 'Recommend items for a user or a history', access: 'publishable', body: recommendRequestSchema, response: recommendResponseSchema, errors: [400, 401, 413, 415] },
  { method: 'get', path: '/v1/recommend', summary: 'Recommend items (query-string form, no filters or context)', access: 'publishable', query: recommendQuerySchema, response: recommendResponseSchema, errors: [400, 401] },
  {
    method: 'post',
    path: '/v1/events',
    summary: 'Send a batch of events (idempotent by eventId). Also accepts text/plain bodies and ?key=<publishable key> for navigator.sendBeacon.',
    access: 'publishable',
    body: eventsRequestDocSchema,
    response: eventsResponseSchema,
    errors: [400, 401, 413, 415],
  },
  { method: 'get', path: '/v1/items', summary: 'List catalogue items, paged by cursor', access: 'secret', query: itemListQuerySchema, response: z.object({ items: z.array(itemSchema), next: z.string().nullable() }), errors: [400, 401, 403] },
  { method: 'post', path: '/v1/items', summary: 'Insert or replace items in bulk', access: 'secret', body: itemsBatchSchema, response: z.object({ items: z.array(itemSchema) }), errors: [400, 401, 403, 413] },
  { method: 'get', path: '/v1/items/{itemId}', summary: 'Get one item', access: 'secret', response: itemSchema, errors: [401, 403, 404] },
  { method: 'put', path: '/v1/items/{itemId}', summary: 'Insert or replace one item', access: 'secret', body: itemWriteSchema, response: itemSchema, errors: [400, 401, 403] },
  { method: 'patch', path: '/v1/items/{itemId}', summary: 'Merge attributes or hide / unhide an item', access: 'secret', body: itemPatchSchema, response: itemSchema, errors: [400, 401, 403, 404] },
  { method: 'delete', path: '/v1/items/{itemId}', summary: 'Remove an item from the catalogue', access: 'secret', status: 204, errors: [401, 403, 404] },
  { method: 'get', path: '/v1/users/{userId}', summary: 'A user’s profile and recent history', access: 'secret', query: userQuerySchema, response: userSchema, errors: [401, 403, 404] },
  { method: 'put', path: '/v1/users/{userId}', summary: 'Set a user’s profile attributes', access: 'secret', body: userWriteSchema, response: userSchema, errors: [400, 401, 403] },
  { method: 'delete', path: '/v1/users/{userId}', summary: 'Erase a user: profile, events and logged recommendations', access: 'secret', errors: [401, 403, 404] },
  { method: 'get', path: '/v1/models', summary: 'List models; the active one first', access: 'secret', response: modelListSchema, errors: [401, 403] },
  {
    method: 'post',
    path: '/v1/models/{modelId}/activate',
    summary: 'Load a model and swap it in atomically; a model that fails to load is refused (422) and the active one keeps serving',
    access: 'secret',
    errors: [401, 403, 404, 422],
  },
  { method: 'get', path: '/healthz', summary: 'Liveness', access: 'none', errors: [] },
  { method: 'get', path: '/readyz', summary: 'Readiness: policy state loaded', access: 'none', errors: [503] },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics: latency histograms, events by type, CTR by policy', access: 'secret', responseType: 'text/plain', errors: [401, 403] },
  { method: 'get', path: '/openapi.json', summary: 'This document', access: 'none', errors: [] },
  { method: 'get', path: '/docs', summary: 'API reference page', access: 'none', responseType: 'text/html', errors: [] },
];

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request (INVALID_ARGUMENT, MALFORMED_JSON)',
  401: 'Missing or wrong key (UNAUTHENTICATED)',
  403: 'The publishable key may not call this route (FORBIDDEN)',
  404: 'Unknown id (NOT_FOUND)',
  413: 'Body too large (PAYLOAD_TOO_LARGE)',
  415: 'Body is not JSON (UNSUPPORTED_MEDIA_TYPE)',
  422: 'Model refused (BUNDLE_*)',
  503: 'Not ready (NOT_READY)',
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

function queryParameters(schema: z.ZodType): Record<string, unknown>[] {
  const json = jsonSchema(schema, 'input') as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    schema: s,
  }));
}

let cached: Record<string, unknown> | undefined;

/** The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. */
export function openApiDocument(version = '0.1.0'): Record<string, unknown> {
  if (cached !== undefined) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  const errorJson = jsonSchema(errorSchema, 'output');
  for (const op of OPERATIONS) {
    const parameters = [...[...op.path.matchAll(/\{(\w+)\}/g)].map((m) => id(m[1] as string)), ...(op.query ? queryParameters(op.query) : [])];
    const responses: Record<string, unknown> = {};
    const status = String(op.status ?? 200);
    if (op.response) responses[status] = { description: 'OK', content: { 'application/json': { schema: jsonSchema(op.response, 'output') } } };
    else if (op.responseType) responses[status] = { description: 'OK', content: { [op.responseType]: { schema: { type: 'string' } } } };
    else responses[status] = { description: status === '204' ? 'No content' : 'OK' };
    for (const code of op.errors) responses[String(code)] = { description: ERROR_TEXT[code] ?? 'Error', content: { 'application/json': { schema: errorJson } } };
    responses['500'] = { description: 'Unexpected failure (INTERNAL); details are in the server log only', content: { 'application/json': { schema: errorJson } } };
    (paths[op.path] ??= {})[op.method] = {
      summary: op.summary,
      'x-tastemaker-access': op.access,
      security: op.access === 'none' ? [] : [{ bearer: [] }],
      ...(parameters.length ? { parameters } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.body, 'input') } } } } : {}),
      responses,
    };
  }
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'Tastemaker',
      version,
      description:
        'Self-hosted recommendations that learn from feedback. Keys are sent as "Authorization: Bearer <key>": the secret key may call everything, the publishable key only /v1/recommend and /v1/events. Errors are {"error":{"code","message"}}.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
  return cached;
}

export function listOperations(): readonly Pick<Operation, 'method' | 'path' | 'summary' | 'access'>[] {
  return OPERATIONS;
}
