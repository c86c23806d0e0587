import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, ev, keys, SECRET } from './testing/test-app.js';

/**
 * jsonBody reads bodies straight from node's IncomingMessage under @hono/node-server, a path
 * app.request() never takes: these requests go over a real socket.
 */
describe('JSON bodies over HTTP (node adapter)', () => {
  const test = createTestApp({ keys, bodyLimit: 2048 });
  let server: ServerType;
  let port: number;

  beforeAll(async () => {
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: test.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  /** Sends the body in the given chunks; chunked transfer encoding unless a length is given. */
  const send = (path: string, chunks: (string | Uint8Array)[], headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: { error?: { code: string }; accepted?: number; items?: unknown[] } }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path, method: 'POST', headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json', ...headers } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as never }));
        },
      );
      req.on('error', reject);
      for (const c of chunks) req.write(c);
      req.end();
    });

  it('reads a body sent in several chunks, and UTF-8 split across them', async () => {
    const body = JSON.stringify({ events: [ev('é1', { context: { note: 'naïve ☕' } })] });
    const bytes = Buffer.from(body);
    const cut = bytes.indexOf(Buffer.from('☕')) + 1; // inside the 3-byte character
    const res = await send('/v1/events', [bytes.subarray(0, cut), bytes.subarray(cut)]);
    expect(res).toEqual({ status: 200, body: { accepted: 1, duplicates: 0, rejected: [] } });
    expect((await test.store.getEvent('é1'))?.context).toEqual({ note: 'naïve ☕' });
  });

  it('answers recommendations, malformed JSON, wrong media types, and both kinds of oversized body', async () => {
    const ok = await send('/v1/recommend', [JSON.stringify({ userId: 'u1', k: 3 })]);
    expect(ok.status).toBe(200);
    expect(ok.body.items).toHaveLength(3);
    expect(await send('/v1/recommend', ['{"userId":'])).toMatchObject({ status: 400, body: { error: { code: 'MALFORMED_JSON' } } });
    expect(await send('/v1/recommend', ['userId=u1'], { 'content-type': 'application/x-www-form-urlencoded' })).toMatchObject({
      status: 415,
      body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } },
    });
    // Chunked, no length: refused while reading.
    expect(await send('/v1/events', ['{"events":[', 'x'.repeat(1500), 'x'.repeat(1500)])).toMatchObject({ status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE' } } });
    // A declared length over the limit: refused before reading.
    const big = JSON.stringify({ events: [ev('big', { context: { pad: 'y'.repeat(3000) } })] });
    expect(await send('/v1/events', [big], { 'content-length': String(Buffer.byteLength(big)) })).toMatchObject({ status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE' } } });
    // The connection and the server are still fine afterwards.
    expect((await send('/v1/events', [JSON.stringify({ events: [ev('after')] })])).status).toBe(200);
  });
});
