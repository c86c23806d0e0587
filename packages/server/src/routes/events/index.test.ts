import { describe, expect, it } from 'vitest';
import { ThompsonSamplingPolicy, createRng } from '@tastemaker/core/edge';
import { createTestApp, ev, keys, PUBLISHABLE } from '../../testing/test-app.js';

type EventsBody = { accepted: number; duplicates: number; rejected: { index: number; error: { code: string; message: string } }[] };

describe('POST /v1/events', () => {
  it('accepts valid events, counts duplicates and rejects the rest one by one', async () => {
    const { call, store } = createTestApp();
    const res = await call('POST', '/v1/events', {
      events: [
        ev('e1'),
        ev('e2', { type: 'rating', value: 4, timestamp: '2024-05-01T10:00:00Z', context: { page: 'home' } }),
        ev('e1'),
        { eventId: 'e3', type: 'teleport', userId: 'u', itemId: 'item-0' },
        ev('e4', { itemId: 'no-such-item' }),
        'not an object',
        ev('e5', { recommId: null, position: null }),
      ],
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as EventsBody;
    expect(body.accepted).toBe(3);
    expect(body.duplicates).toBe(1);
    expect(body.rejected.map((r) => [r.index, r.error.code])).toEqual([
      [3, 'INVALID_ARGUMENT'],
      [4, 'NOT_FOUND'],
      [5, 'INVALID_ARGUMENT'],
    ]);
    expect(body.rejected[0]?.error.message).toMatch(/^type: /);
    expect(await store.countEvents()).toBe(3);
    expect(await store.getEvent('e2')).toMatchObject({ type: 'rating', value: 4, timestamp: Date.parse('2024-05-01T10:00:00Z'), context: { page: 'home' } });
    // Without a timestamp the server's clock stands in.
    expect((await store.getEvent('e1'))?.timestamp).toBe(1_700_000_000_000);
  });

  it('is idempotent by eventId across requests', async () => {
    const { call, store } = createTestApp();
    const batch = { events: [ev('a'), ev('b')] };
    expect(await (await call('POST', '/v1/events', batch)).json()).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    expect(await (await call('POST', '/v1/events', batch)).json()).toEqual({ accepted: 0, duplicates: 2, rejected: [] });
    expect(await store.countEvents()).toBe(2);
  });

  it('accepts events on hidden items and on items only the catalogue knows', async () => {
    const { call } = createTestApp();
    await call('PUT', '/v1/items/new-item', { attributes: { t: 'New' } });
    await call('PATCH', '/v1/items/item-3', { hidden: true });
    const body = (await (await call('POST', '/v1/events', { events: [ev('x', { itemId: 'new-item' }), ev('y', { itemId: 'item-3' })] })).json()) as EventsBody;
    expect(body).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
  });

  it('credits feedback to the recommendation and updates and persists the policy that chose it', async () => {
    const thompson = new ThompsonSamplingPolicy({ rng: createRng(3), propensityDraws: 8 });
    const { call, store } = createTestApp({ policies: { ts: thompson } });
    const rec = (await (await call('POST', '/v1/recommend', { userId: 'u1', k: 2 })).json()) as { recommId: string; items: { itemId: string }[] };
    const [first, second] = rec.items.map((i) => i.itemId) as [string, string];
    await call('POST', '/v1/events', {
      events: [
        ev('i1', { type: 'impression', itemId: first, recommId: rec.recommId }),
        ev('i2', { type: 'impression', itemId: second, recommId: rec.recommId }),
        ev('c1', { type: 'click', itemId: first, recommId: rec.recommId }),
        ev('c2', { type: 'click', itemId: first, recommId: rec.recommId }),
      ],
    });
    expect(thompson.posterior(first)).toEqual({ alpha: 2, beta: 1 });
    expect(thompson.posterior(second)).toEqual({ alpha: 1, beta: 2 });
    expect((await store.getPolicyState('ts')).get(`item:${first}`)?.json).toEqual([1, 1]);
    expect(await store.getImpression(rec.recommId, first)).toMatchObject({ trial: true, reward: 1 });
  });

  it('takes text/plain bodies and a publishable ?key= for sendBeacon', async () => {
    const { call } = createTestApp({ keys });
    const beacon = await call('POST', `/v1/events?key=${PUBLISHABLE}`, JSON.stringify({ events: [ev('b1')] }), {
      key: null,
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
    });
    expect(beacon.status).toBe(200);
    expect(((await beacon.json()) as EventsBody).accepted).toBe(1);
    const secretInUrl = await call('POST', `/v1/events?key=${keys.secret}`, { events: [ev('b2')] }, { key: null });
    expect(secretInUrl.status).toBe(401);
  });

  it('refuses malformed envelopes, oversized batches and bodies with 4xx', async () => {
    const { call } = createTestApp({ maxEventsPerRequest: 3, bodyLimit: 2048 });
    const expectError = async (res: Response, status: number, code: string) => {
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    };
    await expectError(await call('POST', '/v1/events', '{"events": [', {}), 400, 'MALFORMED_JSON');
    await expectError(await call('POST', '/v1/events', { events: [] }), 400, 'INVALID_ARGUMENT');
    await expectError(await call('POST', '/v1/events', { events: 'e1' }), 400, 'INVALID_ARGUMENT');
    await expectError(await call('POST', '/v1/events', { nope: 1 }), 400, 'INVALID_ARGUMENT');
    await expectError(await call('POST', '/v1/events', null), 400, 'INVALID_ARGUMENT');
    await expectError(await call('POST', '/v1/events', { events: [ev('1'), ev('2'), ev('3'), ev('4')] }), 413, 'PAYLOAD_TOO_LARGE');
    await expectError(await call('POST', '/v1/events', { events: [ev('1', { context: { pad: 'x'.repeat(4000) } })] }), 413, 'PAYLOAD_TOO_LARGE');
    await expectError(await call('POST', '/v1/events', 'x'.repeat(5000), { headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('rejects hostile field values per event: lone surrogates, deep nesting, huge ids', async () => {
    const { call, store } = createTestApp();
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    const body = (await (
      await call('POST', '/v1/events', {
        events: [ev('\ud800'), ev('ok', { context: { deep } }), ev('x'.repeat(300)), ev('fine', { value: 'NaN' }), ev('good')],
      })
    ).json()) as EventsBody;
    expect(body.accepted).toBe(1);
    expect(body.rejected.map((r) => r.index)).toEqual([0, 1, 2, 3]);
    expect(body.rejected[1]?.error.message).toMatch(/nested deeper/);
    expect(await store.countEvents()).toBe(1);
  });
});
