import { hc } from 'hono/client';
import { describe, expect, it } from 'vitest';
import type { AppType } from './app.js';
import { createTestApp, testSource } from './testing/test-app.js';

describe('createApp', () => {
  it('answers unknown routes with a JSON 404', async () => {
    const { call } = createTestApp();
    const res = await call('GET', '/v2/nothing');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'No route for GET /v2/nothing' } });
  });

  it('turns unexpected failures into 500 INTERNAL with a generic message, logged, never a stack', async () => {
    const source = testSource();
    source.recommend = async () => {
      throw new Error('secret detail at /srv/app/file.ts:12');
    };
    const { call, logger } = createTestApp({ recommender: source });
    const res = await call('POST', '/v1/recommend', { userId: 'u' });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'INTERNAL', message: 'Internal server error' } });
    expect(text).not.toContain('secret detail');
    expect(logger.lines.find((l) => l.level === 'error')?.fields?.error).toBeInstanceOf(Error);
  });

  it('maps core errors to their status: a bad argument from the model is a 400', async () => {
    const { TastemakerError } = await import('@tastemaker/core/edge');
    const source = testSource();
    source.recommend = async () => {
      throw new TastemakerError('INVALID_ARGUMENT', 'history must be an array of item id strings');
    };
    const { call } = createTestApp({ recommender: source });
    const res = await call('POST', '/v1/recommend', { userId: 'u' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_ARGUMENT');
  });

  it('sends CORS headers, configurable, for browsers calling with a publishable key', async () => {
    const { app } = createTestApp({ cors: { origin: ['https://shop.example'] } });
    const preflight = await app.request('/v1/events', {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    const other = await app.request('/healthz', { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const off = createTestApp({ cors: false });
    expect((await off.app.request('/healthz', { headers: { origin: 'https://shop.example' } })).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a defaultPolicy that is not configured, listing the valid ones', () => {
    expect(() => createTestApp({ defaultPolicy: 'nope' })).toThrow(/Invalid defaultPolicy: "nope". Valid values: "greedy"/);
  });

  it('exports AppType for the typed hono client', async () => {
    const { app } = createTestApp();
    const client = hc<AppType>('http://tastemaker.test', { fetch: (input: RequestInfo | URL, init?: RequestInit) => app.request(input, init) });
    const res = await client.v1.recommend.$post({ json: { userId: 'u1', k: 2 } });
    expect(res.status).toBe(200);
    if (!res.ok) return;
    const body = await res.json();
    const ids: string[] = body.items.map((i) => i.itemId);
    expect(ids).toEqual(['item-0', 'item-1']);
    const item = await client.v1.items[':itemId'].$get({ param: { itemId: 'item-3' } });
    expect(item.status).toBe(200);
  });
});
