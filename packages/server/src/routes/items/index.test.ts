import { describe, expect, it } from 'vitest';
import { createTestApp, keys, PUBLISHABLE } from '../../testing/test-app.js';

describe('/v1/items', () => {
  it('creates, reads, patches, replaces, lists and deletes items', async () => {
    const { call, tick } = createTestApp();
    const put = await call('PUT', '/v1/items/film%2F1', { attributes: { title: 'Heat', year: 1995 } });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({
      itemId: 'film/1',
      attributes: { title: 'Heat', year: 1995 },
      hidden: false,
      inCatalog: true,
      inModel: false,
      createdAt: 1_700_000_000_000,
      updatedAt: 1_700_000_000_000,
    });
    tick(5);
    const patched = await (await call('PATCH', '/v1/items/film%2F1', { attributes: { year: null, genre: 'crime' }, hidden: true })).json();
    expect(patched).toMatchObject({ attributes: { title: 'Heat', genre: 'crime' }, hidden: true, updatedAt: 1_700_000_000_005 });
    expect(await (await call('GET', '/v1/items/film%2F1')).json()).toMatchObject({ hidden: true });

    await call('POST', '/v1/items', { items: [{ itemId: 'a' }, { itemId: 'b', hidden: true }, { itemId: 'item-1' }] });
    const page = (await (await call('GET', '/v1/items?limit=2')).json()) as { items: { itemId: string; inModel: boolean }[]; next: string | null };
    expect(page.items.map((i) => i.itemId)).toEqual(['a', 'b']);
    expect(page.next).toBe('b');
    const rest = (await (await call('GET', '/v1/items?limit=2&after=b')).json()) as typeof page;
    expect(rest.items.map((i) => [i.itemId, i.inModel])).toEqual([
      ['film/1', false],
      ['item-1', true],
    ]);
    expect(rest.next).toBe('item-1');
    const hidden = (await (await call('GET', '/v1/items?hidden=true')).json()) as typeof page;
    expect(hidden.items.map((i) => i.itemId)).toEqual(['b', 'film/1']);
    expect(hidden.next).toBeNull();

    expect((await call('DELETE', '/v1/items/a')).status).toBe(204);
    expect((await call('DELETE', '/v1/items/a')).status).toBe(404);
  });

  it('shows and patches items only the model knows', async () => {
    const { call } = createTestApp();
    expect(await (await call('GET', '/v1/items/item-4')).json()).toEqual({ itemId: 'item-4', attributes: {}, hidden: false, inCatalog: false, inModel: true });
    const hide = await call('PATCH', '/v1/items/item-4', { hidden: true });
    expect(await hide.json()).toMatchObject({ itemId: 'item-4', hidden: true, inCatalog: true, inModel: true });
  });

  it('answers 404 for unknown ids and 400 for bad bodies', async () => {
    const { call } = createTestApp();
    const missing = await call('GET', '/v1/items/nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'Unknown item "nope"' } });
    expect((await call('PATCH', '/v1/items/nope', { hidden: true })).status).toBe(404);
    expect((await call('PUT', '/v1/items/x', { hidden: 'yes' })).status).toBe(400);
    expect((await call('PUT', '/v1/items/x', { attributes: [1] })).status).toBe(400);
    expect((await call('POST', '/v1/items', { items: [] })).status).toBe(400);
    expect((await call('GET', '/v1/items?limit=0')).status).toBe(400);
  });

  it('needs the secret key', async () => {
    const { call } = createTestApp({ keys });
    const res = await call('GET', '/v1/items', undefined, { key: PUBLISHABLE });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    expect((await call('GET', '/v1/items', undefined, { key: null })).status).toBe(401);
    expect((await call('GET', '/v1/items')).status).toBe(200);
  });
});
