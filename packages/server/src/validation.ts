import type { Context, Env, MiddlewareHandler } from 'hono';
import { validator } from 'hono/validator';
import type { z } from 'zod';
import { ApiError } from './api-error.js';
import { requestHeader } from './request-header.js';

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
  // What every client sends, checked before the general parse that runs on each request otherwise.
  if (contentType === 'application/json') return;
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

export interface JsonBodyOptions {
  /** Largest body in bytes; a longer one (declared or actually sent) is refused with 413 PAYLOAD_TOO_LARGE. */
  maxBytes: number;
  /** Also take JSON sent as text/plain (sendBeacon). */
  allowText?: boolean;
}

/**
 * A JSON body validated by a zod schema. The body is read once, as text, with the size limit
 * enforced while reading; parsed once; validated once. (hono's json validator would parse it, and
 * reading the text afterwards re-serialises that and reads it again through a Response.) A body
 * that does not parse gets our MALFORMED_JSON, and text/plain works where allowed.
 */
export function jsonBody<S extends z.ZodType, E extends Env = Env, P extends string = string>(
  schema: S,
  options: JsonBodyOptions,
): MiddlewareHandler<E, P, JsonIO<S>> {
  const middleware: MiddlewareHandler = async (c, next) => {
    checkContentType(requestHeader(c, 'content-type'), options.allowText ?? false);
    const text = await readBodyText(c, options.maxBytes);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ApiError(400, 'MALFORMED_JSON', 'The request body is not valid JSON');
    }
    c.req.addValidatedData('json', parseOrThrow(schema, body) as object);
    await next();
  };
  return middleware as unknown as MiddlewareHandler<E, P, JsonIO<S>>;
}

/** The parts of node's IncomingMessage read here; @hono/node-server passes it as `c.env.incoming`. */
interface NodeIncoming {
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
  readonly readableFlowing: boolean | null;
  readonly readableEnded: boolean;
  readonly readableDidRead?: boolean;
  readonly destroyed: boolean;
}

function untouchedNodeIncoming(env: unknown): NodeIncoming | undefined {
  const incoming = (env as { incoming?: Partial<NodeIncoming> } | undefined)?.incoming;
  if (incoming === undefined || typeof incoming.on !== 'function' || typeof incoming.off !== 'function') return undefined;
  // Only a stream nobody has started reading: otherwise its data may already be gone, or be owed to a web stream.
  if (incoming.readableFlowing !== null || incoming.readableEnded !== false || incoming.readableDidRead === true || incoming.destroyed !== false) return undefined;
  return incoming as NodeIncoming;
}

const tooLarge = (maxBytes: number) => new ApiError(413, 'PAYLOAD_TOO_LARGE', `Request body over ${maxBytes} bytes`);

/**
 * The body as UTF-8 text, at most maxBytes of it. On Node it comes straight from the IncomingMessage:
 * going through the Request would first build a web ReadableStream over it, which costs more than
 * parsing a small JSON body. Elsewhere (edge runtimes, app.request in tests) the Request's stream.
 */
export async function readBodyText(c: Context, maxBytes: number): Promise<string> {
  const declared = requestHeader(c, 'content-length');
  if (declared !== undefined && Number.parseInt(declared, 10) > maxBytes) throw tooLarge(maxBytes);
  const incoming = untouchedNodeIncoming(c.env);
  const chunks = incoming !== undefined ? await readNode(incoming, maxBytes) : await readWeb(c.req.raw.body, maxBytes);
  return decoder.decode(chunks.length === 1 ? chunks[0] : concat(chunks));
}

const decoder = new TextDecoder();

function readNode(incoming: NodeIncoming, maxBytes: number): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    const done = (error?: unknown) => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
      if (error === undefined) resolve(chunks);
      else reject(error);
    };
    const onData = (chunk: Uint8Array) => {
      size += chunk.byteLength;
      // The rest is left to flow away unread (the node adapter drains what is left after answering).
      if (size > maxBytes) done(tooLarge(maxBytes));
      else chunks.push(chunk);
    };
    const onEnd = () => done();
    const onError = (error: unknown) => done(error);
    // Closed before 'end': the client went away mid-body.
    const onClose = () => done(new ApiError(400, 'BAD_REQUEST', 'The request body ended early'));
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

async function readWeb(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array[]> {
  if (body === null) return [];
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return chunks;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

export function queryParams<S extends z.ZodType, E extends Env = Env, P extends string = string>(schema: S): MiddlewareHandler<E, P, QueryIO<S>> {
  const middleware = validator('query', (value): z.output<S> => parseOrThrow(schema, value));
  return middleware as unknown as MiddlewareHandler<E, P, QueryIO<S>>;
}

export function pathParams<S extends z.ZodType>(schema: S) {
  return validator('param', (value): z.output<S> => parseOrThrow(schema, value));
}
