import { describe, expect, it } from 'vitest';
import { MemoryStore, ThompsonSamplingPolicy, createRng } from '@tastemaker/core/edge';
import { createTestApp, ev, keys, PUBLISHABLE } from '../../testing/test-app.js';

describe('health and metrics', () => {
  it('answers /healthz and /readyz without a key', async () => {
    const { call } = createTestApp({ keys });
    expect(await (await call('GET', '/healthz', undefined, { key: null })).json()).toEqual({ status: 'ok' });
    const ready = await call('GET', '/readyz', undefined, { key: null });
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', model: 'test-model', store: 'memory', policies: ['greedy'] });
  });

  it('is not ready, and says so with 503 on policy routes, when stored state cannot load', async () => {
    const store = new MemoryStore();
    store.getPolicyState = async () => {
      throw new Error('disk on fire');
    };
    const { call, logger } = createTestApp({ store });
    await new Promise((r) => setTimeout(r, 0));
    const ready = await call('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { error: { code: string } }).error.code).toBe('NOT_READY');
    const rec = await call('POST', '/v1/recommend', { userId: 'u' });
    expect(rec.status).toBe(503);
    expect(await rec.json()).toEqual({ error: { code: 'NOT_READY', message: 'The server could not load its policy state; see its log' } });
    expect(logger.lines.some((l) => l.level === 'error' && l.message === 'could not load policy state')).toBe(true);
  });

  it('exposes Prometheus metrics: latency by route pattern, events by type, CTR by policy', async () => {
    const { call } = createTestApp({ keys, policies: { ts: new ThompsonSamplingPolicy({ rng: createRng(1), propensityDraws: 4 }) } });
    const rec = (await (await call('POST', '/v1/recommend', { userId: 'u', k: 2 })).json()) as { recommId: string; items: { itemId: string }[] };
    await call('POST', '/v1/events', {
      events: [
        ev('1', { type: 'impression', itemId: rec.items[0]?.itemId, recommId: rec.recommId }),
        ev('2', { type: 'impression', itemId: rec.items[1]?.itemId, recommId: rec.recommId }),
        ev('3', { type: 'click', itemId: rec.items[0]?.itemId, recommId: rec.recommId }),
        ev('3'),
        { eventId: 4 },
      ],
    });
    await call('GET', '/v1/items/item-1');
    expect((await call('GET', '/metrics', undefined, { key: PUBLISHABLE })).status).toBe(403);
    const res = await call('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    const text = await res.text();
    expect(text).toContain('tastemaker_http_request_duration_seconds_count{method="POST",route="/v1/recommend",status="200"} 1');
    expect(text).toContain('route="/v1/items/:itemId"');
    expect(text).toContain('tastemaker_events_total{type="impression",outcome="accepted"} 2');
    expect(text).toContain('tastemaker_events_total{type="click",outcome="duplicate"} 1');
    expect(text).toContain('tastemaker_events_total{type="invalid",outcome="rejected"} 1');
    expect(text).toContain('tastemaker_recommendations_total{policy="ts",model="test-model"} 1');
    expect(text).toContain('tastemaker_impressions_total{policy="ts"} 2');
    expect(text).toContain('tastemaker_clicks_total{policy="ts"} 1');
    expect(text).toContain('tastemaker_ctr{policy="ts"} 0.5');
  });
});
