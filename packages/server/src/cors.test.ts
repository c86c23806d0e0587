import { describe, expect, it } from 'vitest';
import { createTestApp, keys, PUBLISHABLE } from './testing/test-app.js';

describe('CORS', () => {
  it('puts the headers on route answers and on error answers, with Vary: Origin for a list', async () => {
    const { call } = createTestApp({ keys, cors: { origin: ['https://shop.example'] } });
    const headers = { origin: 'https://shop.example' };
    const ok = await call('POST', '/v1/recommend', { userId: 'u1', k: 2 }, { key: PUBLISHABLE, headers });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(ok.headers.get('vary')).toBe('Origin');
    expect(ok.headers.get('content-type')).toMatch(/^application\/json/);
    const denied = await call('POST', '/v1/recommend', { userId: 'u1' }, { key: 'wrong', headers });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    const preflight = await call('OPTIONS', '/v1/recommend', undefined, { key: null, headers });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('vary')).toBe('Origin, Access-Control-Request-Headers');
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET,POST,PUT,PATCH,DELETE,OPTIONS');
    expect(preflight.headers.get('access-control-max-age')).toBe('600');
  });

  it('allows any origin by default', async () => {
    const { app } = createTestApp();
    const res = await app.request('/healthz', { headers: { origin: 'https://anywhere.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('vary')).toBeNull();
    const missing = await app.request('/nope');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('access-control-allow-origin')).toBe('*');
  });
});
