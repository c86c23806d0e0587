/**
 * The server on the embedded SQLite store: what an acknowledged request wrote survives a restart
 * (close the store, open the file again, build a new app), and idempotency holds across it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRng, SqliteStore, ThompsonSamplingPolicy, LinUcbPolicy, type Policy } from '@tastemaker/core';
import { appLifecycle } from '@tastemaker/server';
import { createTestApp, ev, keys, testSource } from '../packages/server/src/testing/test-app.js';

const dir = mkdtempSync(join(tmpdir(), 'tastemaker-server-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function policies(): Record<string, Policy> {
  return {
    ts: new ThompsonSamplingPolicy({ rng: createRng(1), propensityDraws: 4 }),
    lin: new LinUcbPolicy({ mode: 'shared', features: 'item', dim: 4 }),
  };
}

describe('server on SqliteStore', () => {
  it('keeps events, impressions, catalogue, users and policy state across a restart; a repeated eventId is stored once', async () => {
    const path = join(dir, 'restart.db');
    const source = testSource();
    const first = createTestApp({ store: new SqliteStore(path), recommender: source, policies: policies(), keys });

    const recTs = (await (await first.call('POST', '/v1/recommend', { userId: 'u1', k: 3, policy: 'ts' })).json()) as { recommId: string; items: { itemId: string }[] };
    const recLin = (await (await first.call('POST', '/v1/recommend', { userId: 'u1', k: 3, policy: 'lin' })).json()) as { recommId: string; items: { itemId: string }[] };
    const clicked = recTs.items[0]?.itemId as string;
    const events = {
      events: [
        ev('imp-1', { type: 'impression', itemId: clicked, recommId: recTs.recommId }),
        ev('click-1', { itemId: clicked, recommId: recTs.recommId }),
        ev('click-2', { itemId: recLin.items[1]?.itemId, recommId: recLin.recommId }),
      ],
    };
    expect(await (await first.call('POST', '/v1/events', events)).json()).toEqual({ accepted: 3, duplicates: 0, rejected: [] });
    await first.call('PUT', '/v1/items/item-7', { attributes: { title: 'Seven' }, hidden: true });
    await first.call('PUT', '/v1/users/u1', { attributes: { plan: 'pro' } });
    const tsBefore = await first.store.getPolicyState('ts');
    const linBefore = await first.store.getPolicyState('lin');
    await first.store.close();

    // A new process: same file, fresh policies restored from it.
    const restartedPolicies = policies();
    const second = createTestApp({ store: new SqliteStore(path), recommender: testSource(), policies: restartedPolicies, keys });
    await appLifecycle(second.app).ready;
    expect((await second.call('GET', '/readyz')).status).toBe(200);
    expect(await second.store.countEvents()).toBe(3);
    expect(await (await second.call('POST', '/v1/events', events)).json()).toEqual({ accepted: 0, duplicates: 3, rejected: [] });
    expect(await second.store.countEvents()).toBe(3);

    expect((restartedPolicies.ts as ThompsonSamplingPolicy).posterior(clicked)).toEqual({ alpha: 2, beta: 1 });
    expect(await second.store.getPolicyState('ts')).toEqual(tsBefore);
    expect((restartedPolicies.lin as LinUcbPolicy).exportState()).toEqual(linBefore);
    expect((restartedPolicies.lin as LinUcbPolicy).trials()).toBe(1);

    expect(await second.store.getImpression(recTs.recommId, clicked)).toMatchObject({ trial: true, reward: 1, policy: 'ts' });
    expect(await (await second.call('GET', '/v1/items/item-7')).json()).toMatchObject({ hidden: true, attributes: { title: 'Seven' } });
    expect(await (await second.call('GET', '/v1/users/u1')).json()).toMatchObject({ attributes: { plan: 'pro' }, history: [recLin.items[1]?.itemId, clicked] });
    // The hidden item stays out of recommendations after the restart.
    const after = (await (await second.call('POST', '/v1/recommend', { userId: 'u9', k: 10, policy: 'ts' })).json()) as { items: { itemId: string }[] };
    expect(after.items.map((i) => i.itemId)).not.toContain('item-7');
    await second.store.close();
  });

  it('answers the 4xx contract on SQLite too: malformed JSON, wrong types, unknown ids, oversized body, missing or wrong key', async () => {
    const { call, store } = createTestApp({ store: new SqliteStore(join(dir, 'errors.db')), keys, bodyLimit: 4096 });
    const expectCode = async (res: Response, status: number, code: string) => {
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    };
    await expectCode(await call('POST', '/v1/events', '{"events":[{"eventId":'), 400, 'MALFORMED_JSON');
    await expectCode(await call('POST', '/v1/recommend', { userId: 'u', k: 'ten' }), 400, 'INVALID_ARGUMENT');
    await expectCode(await call('GET', '/v1/items/unknown'), 404, 'NOT_FOUND');
    await expectCode(await call('GET', '/v1/users/unknown'), 404, 'NOT_FOUND');
    await expectCode(await call('POST', '/v1/events', { events: [ev('x', { context: { pad: 'y'.repeat(5000) } })] }), 413, 'PAYLOAD_TOO_LARGE');
    await expectCode(await call('POST', '/v1/events', { events: [ev('x')] }, { key: null }), 401, 'UNAUTHENTICATED');
    await expectCode(await call('POST', '/v1/events', { events: [ev('x')] }, { key: 'wrong' }), 401, 'UNAUTHENTICATED');
    await expectCode(await call('DELETE', '/v1/items/item-1', undefined, { key: keys.publishable }), 403, 'FORBIDDEN');
    const unknownItem = (await (await call('POST', '/v1/events', { events: [ev('y', { itemId: 'ghost' })] })).json()) as { rejected: { error: { code: string } }[] };
    expect(unknownItem.rejected[0]?.error.code).toBe('NOT_FOUND');
    expect(await store.countEvents()).toBe(0);
    await store.close();
  });
});
