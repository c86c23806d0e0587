import { describe, expect, it } from 'vitest';
import { EpsilonGreedyPolicy, GreedyPolicy, createRng } from '@tastemaker/core/edge';
import { createTestApp, ev } from '../../testing/test-app.js';

type Body = { recommId: string; model: string; policy: string; items: { itemId: string; score: number; propensity: number; position: number }[] };

describe('POST /v1/recommend', () => {
  it('answers recommId, model, policy and ranked items, and logs each shown item with its propensity', async () => {
    const { call, store } = createTestApp({
      policies: { explore: new EpsilonGreedyPolicy({ epsilon: 0.2, rng: createRng(1) }) },
    });
    const res = await call('POST', '/v1/recommend', { userId: 'u1', k: 3, context: { page: 'home' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Body;
    expect(body.recommId).toBe('rec-1');
    expect(body.model).toBe('test-model');
    expect(body.policy).toBe('explore');
    expect(body.items).toHaveLength(3);
    expect(body.items.map((i) => i.position)).toEqual([0, 1, 2]);
    for (const item of body.items) expect(item.propensity > 0 && item.propensity <= 1).toBe(true);

    const logged = await store.getRecommendation('rec-1');
    expect(logged).toMatchObject({ userId: 'u1', policy: 'explore', model: 'test-model', context: { page: 'home' } });
    expect(logged?.items).toEqual(body.items.map(({ itemId, position, score, propensity }) => ({ itemId, position, score, propensity })));
  });

  it('serves the model order with the default greedy policy and asks the model for exactly k', async () => {
    const { call, source } = createTestApp();
    const body = (await (await call('POST', '/v1/recommend', { userId: 'u1', k: 2 })).json()) as Body;
    expect(body.policy).toBe('greedy');
    expect(body.items.map((i) => [i.itemId, i.propensity])).toEqual([
      ['item-0', 1],
      ['item-1', 1],
    ]);
    expect(source.requests.at(-1)?.k).toBe(2);
  });

  it('leaves out hidden, excluded and already-seen items, using the stored history as live context', async () => {
    const { call, source } = createTestApp();
    await call('PATCH', '/v1/items/item-0', { hidden: true });
    await call('POST', '/v1/events', { events: [ev('e1', { itemId: 'item-1' }), ev('e2', { itemId: 'item-3', type: 'purchase' })] });
    const body = (await (await call('POST', '/v1/recommend', { userId: 'u1', k: 3, exclude: ['item-2'] })).json()) as Body;
    expect(body.items.map((i) => i.itemId)).toEqual(['item-4', 'item-5', 'item-6']);
    const request = source.requests.at(-1);
    expect(request?.history).toEqual(['item-1', 'item-3']);
    expect(new Set(request?.exclude)).toEqual(new Set(['item-0', 'item-1', 'item-2', 'item-3']));

    const again = (await (await call('POST', '/v1/recommend', { userId: 'u1', k: 1, excludeSeen: false })).json()) as Body;
    expect(again.items.map((i) => i.itemId)).toEqual(['item-1']);
  });

  it('filters on catalogue attributes', async () => {
    const { call } = createTestApp();
    await call('POST', '/v1/items', {
      items: [
        { itemId: 'item-2', attributes: { genre: ['comedy', 'drama'] } },
        { itemId: 'item-5', attributes: { genre: 'comedy' } },
        { itemId: 'item-7', attributes: { genre: 'horror' } },
      ],
    });
    const body = (await (await call('POST', '/v1/recommend', { history: ['item-19'], k: 5, filters: { genre: 'comedy' } })).json()) as Body;
    expect(body.items.map((i) => i.itemId)).toEqual(['item-2', 'item-5']);
  });

  it('runs the policy the request names, and refuses one that is not configured', async () => {
    const { call } = createTestApp({ policies: { greedy: new GreedyPolicy(), other: new GreedyPolicy() }, defaultPolicy: 'greedy' });
    expect(((await (await call('POST', '/v1/recommend', { userId: 'u', policy: 'other' })).json()) as Body).policy).toBe('other');
    const res = await call('POST', '/v1/recommend', { userId: 'u', policy: 'nope' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'INVALID_ARGUMENT', message: 'policy: unknown policy "nope"; configured: greedy, other' } });
  });

  it('refuses bad requests with 4xx JSON errors', async () => {
    const { call } = createTestApp({ maxK: 50 });
    const cases: [unknown, number, string][] = [
      [{}, 400, 'INVALID_ARGUMENT'],
      [{ userId: 5 }, 400, 'INVALID_ARGUMENT'],
      [{ userId: 'u', k: 0 }, 400, 'INVALID_ARGUMENT'],
      [{ userId: 'u', k: 2.5 }, 400, 'INVALID_ARGUMENT'],
      [{ userId: 'u', k: 51 }, 400, 'INVALID_ARGUMENT'],
      [{ userId: 'u', history: 'item-1' }, 400, 'INVALID_ARGUMENT'],
      [{ userId: '' }, 400, 'INVALID_ARGUMENT'],
      [[1, 2], 400, 'INVALID_ARGUMENT'],
      ['{"userId":', 400, 'MALFORMED_JSON'],
      ['', 400, 'MALFORMED_JSON'],
    ];
    for (const [body, status, code] of cases) {
      const res = await call('POST', '/v1/recommend', body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    const text = await call('POST', '/v1/recommend', 'userId=u', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(text.status).toBe(415);
    expect(((await text.json()) as { error: { code: string } }).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('GET /v1/recommend', () => {
  it('takes the request in the query string, lists as repeated parameters', async () => {
    const { call, source } = createTestApp();
    const res = await call('GET', '/v1/recommend?userId=u1&k=2&exclude=item-0&exclude=item-1&history=item-9');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Body;
    expect(body.items.map((i) => i.itemId)).toEqual(['item-2', 'item-3']);
    expect(source.requests.at(-1)).toMatchObject({ userId: 'u1', history: ['item-9'] });
    expect((await call('GET', '/v1/recommend?userId=u1&k=abc')).status).toBe(400);
    expect((await call('GET', '/v1/recommend?k=3')).status).toBe(400);
  });
});
