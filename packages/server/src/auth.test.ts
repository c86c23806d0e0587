import { describe, expect, it } from 'vitest';
import { createTestApp, keys, PUBLISHABLE, SECRET } from './testing/test-app.js';

const code = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

describe('API keys', () => {
  it('lets the secret key call everything and the publishable key only events and recommend', async () => {
    const { call } = createTestApp({ keys });
    for (const key of [SECRET, PUBLISHABLE]) {
      expect((await call('POST', '/v1/recommend', { userId: 'u' }, { key })).status).toBe(200);
      expect((await call('GET', '/v1/recommend?userId=u', undefined, { key })).status).toBe(200);
      expect((await call('POST', '/v1/events', { events: [{ eventId: key, type: 'click', userId: 'u', itemId: 'item-0' }] }, { key })).status).toBe(200);
    }
    for (const [method, path] of [
      ['GET', '/v1/items'],
      ['PUT', '/v1/items/x'],
      ['GET', '/v1/users/u'],
      ['DELETE', '/v1/users/u'],
      ['GET', '/v1/models'],
      ['POST', '/v1/models/x/activate'],
      ['GET', '/metrics'],
    ] as const) {
      const res = await call(method, path, method === 'PUT' ? {} : undefined, { key: PUBLISHABLE });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect((await code(res)).code).toBe('FORBIDDEN');
    }
  });

  it('answers 401 with a Bearer challenge for a missing, wrong or malformed key', async () => {
    const { call, app } = createTestApp({ keys });
    const missing = await call('POST', '/v1/recommend', { userId: 'u' }, { key: null });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await code(missing)).toEqual({ code: 'UNAUTHENTICATED', message: 'Missing API key: send "Authorization: Bearer <key>"' });
    expect((await call('POST', '/v1/recommend', { userId: 'u' }, { key: 'sk_wrong' })).status).toBe(401);
    expect((await call('POST', '/v1/recommend', { userId: 'u' }, { key: SECRET.slice(0, -1) })).status).toBe(401);
    const basic = await app.request('/v1/items', { headers: { authorization: `Basic ${SECRET}` } });
    expect(basic.status).toBe(401);
    expect((await code(basic)).message).toMatch(/Malformed Authorization header/);
    expect((await app.request('/v1/items', { headers: { authorization: `bearer ${SECRET}` } })).status).toBe(200);
  });

  it('runs open with no key configured, and with only a publishable key admin routes stay closed', async () => {
    const open = createTestApp();
    expect((await open.call('GET', '/v1/items', undefined, { key: null })).status).toBe(200);
    const publishableOnly = createTestApp({ keys: { publishable: PUBLISHABLE } });
    expect((await publishableOnly.call('GET', '/v1/items', undefined, { key: PUBLISHABLE })).status).toBe(403);
    expect((await publishableOnly.call('POST', '/v1/recommend', { userId: 'u' }, { key: PUBLISHABLE })).status).toBe(200);
  });
});
