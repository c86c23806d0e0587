import { describe, expect, it } from 'vitest';
import { createTestApp, ev } from '../../testing/test-app.js';

describe('/v1/users/:userId', () => {
  it('returns the profile and the recent distinct history, most recent first', async () => {
    const { call } = createTestApp();
    await call('PUT', '/v1/users/u1', { attributes: { plan: 'pro' } });
    await call('POST', '/v1/events', {
      events: [
        ev('1', { itemId: 'item-1', timestamp: 1 }),
        ev('2', { itemId: 'item-2', timestamp: 2, type: 'like' }),
        ev('3', { itemId: 'item-1', timestamp: 3 }),
        ev('4', { itemId: 'item-5', timestamp: 4, type: 'skip' }),
      ],
    });
    const res = await call('GET', '/v1/users/u1');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ userId: 'u1', attributes: { plan: 'pro' }, history: ['item-1', 'item-2'] });
    expect(((await (await call('GET', '/v1/users/u1?historyLimit=1')).json()) as { history: string[] }).history).toEqual(['item-1']);
  });

  it('knows users by their events alone, 404s strangers, and erases on DELETE', async () => {
    const { call, store } = createTestApp();
    await call('POST', '/v1/events', { events: [ev('1', { userId: 'u2', type: 'impression' })] });
    expect(await (await call('GET', '/v1/users/u2')).json()).toEqual({ userId: 'u2', attributes: {}, history: [] });
    const stranger = await call('GET', '/v1/users/nobody');
    expect(stranger.status).toBe(404);
    expect(((await stranger.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');

    expect(await (await call('DELETE', '/v1/users/u2')).json()).toEqual({ deleted: { profile: false, events: 1, recommendations: 0 } });
    expect(await store.countEvents()).toBe(0);
    expect((await call('DELETE', '/v1/users/u2')).status).toBe(404);
    expect((await call('PUT', '/v1/users/u3', { attributes: 'x' })).status).toBe(400);
  });
});
