import { describe, expect, it } from 'vitest';
import { EpsilonGreedyPolicy, ThompsonSamplingPolicy, createRng } from '@tastemaker/core/edge';
import { CandidateCache } from './candidate-cache.js';
import type { ModelCatalog } from './context.js';
import { createTestApp, ev, testSource, type TestSource } from './testing/test-app.js';

type Body = { recommId: string; model: string; items: { itemId: string; propensity: number }[] };

const entry = (ids: string[]) => ({ history: [], items: ids.map((itemId, i) => ({ itemId, score: -i })), model: 'm', distinct: true });

describe('CandidateCache', () => {
  it('keeps entries per user, variant and model, dropping the least recently used user past maxUsers', () => {
    const cache = new CandidateCache({ maxUsers: 2 });
    const a = testSource();
    const b = testSource();
    cache.begin(a, 'u1', 'v').store(entry(['x']));
    cache.begin(a, 'u2', 'v').store(entry(['y']));
    expect(cache.begin(a, 'u1', 'v').entry?.items[0]?.itemId).toBe('x');
    expect(cache.begin(a, 'u1', 'other').entry).toBeUndefined();
    // Another model never sees the first one's entries.
    expect(cache.begin(b, 'u1', 'v').entry).toBeUndefined();
    // u1 was used last, so u2 is the one dropped.
    cache.begin(a, 'u3', 'v').store(entry(['z']));
    expect(cache.size).toBe(2);
    expect(cache.begin(a, 'u2', 'v').entry).toBeUndefined();
    expect(cache.begin(a, 'u1', 'v').entry).toBeDefined();
    expect(() => new CandidateCache({ maxUsers: 0 })).toThrow(/maxUsers/);
  });

  it('does not keep what a computation read before the user was invalidated', () => {
    const cache = new CandidateCache();
    const source = testSource();
    const stale = cache.begin(source, 'u1', 'v');
    cache.invalidateUser('u1');
    stale.store(entry(['old']));
    expect(cache.begin(source, 'u1', 'v').entry).toBeUndefined();
    const staleAll = cache.begin(source, 'u2', 'v');
    cache.clear();
    staleAll.store(entry(['old']));
    expect(cache.begin(source, 'u2', 'v').entry).toBeUndefined();
    // Another user's invalidation leaves a computation alone.
    const fresh = cache.begin(source, 'u3', 'v');
    cache.invalidateUser('u1');
    fresh.store(entry(['new']));
    expect(cache.begin(source, 'u3', 'v').entry?.items[0]?.itemId).toBe('new');
  });
});

describe('POST /v1/recommend with the candidate cache', () => {
  const recommend = async (call: ReturnType<typeof createTestApp>['call'], body: Record<string, unknown>) =>
    (await (await call('POST', '/v1/recommend', { k: 2, ...body })).json()) as Body;

  it('asks the model once per user until something changes, and still runs the policy per request', async () => {
    const { call, source, store } = createTestApp({ policies: { explore: new EpsilonGreedyPolicy({ epsilon: 0.5, rng: createRng(3) }) } });
    const first = await recommend(call, { userId: 'u1' });
    const slates = [first];
    for (let i = 0; i < 20; i++) slates.push(await recommend(call, { userId: 'u1' }));
    expect(source.requests).toHaveLength(1);
    // Exploration still happens on cached candidates: the slates differ, each logged with its own propensities.
    expect(new Set(slates.map((s) => s.items.map((i) => i.itemId).join()))).not.toEqual(new Set([first.items.map((i) => i.itemId).join()]));
    expect(new Set(slates.map((s) => s.recommId)).size).toBe(21);
    const logged = await store.getRecommendation(slates[20]?.recommId as string);
    expect(logged?.items.map((i) => i.propensity)).toEqual(slates[20]?.items.map((i) => i.propensity));
    // Another user, or a request with its own history or exclusions, asks the model.
    await recommend(call, { userId: 'u2' });
    await recommend(call, { userId: 'u1', history: ['item-5'] });
    await recommend(call, { userId: 'u1', exclude: ['item-0'] });
    expect(source.requests).toHaveLength(4);
  });

  it('serves distinct items from a source that repeats ids, whether the candidates are cached or fresh', async () => {
    const recommender = testSource({ items: ['a', 'b', 'a', 'c', 'b', 'd'] });
    const { call, source } = createTestApp({ recommender, policies: { explore: new ThompsonSamplingPolicy({ rng: createRng(5), propensityDraws: 8 }) } });
    for (let i = 0; i < 5; i++) {
      const ids = (await recommend(call, { userId: 'u1', k: 4 })).items.map((item) => item.itemId);
      expect(ids.sort()).toEqual(['a', 'b', 'c', 'd']);
    }
    expect(source.requests).toHaveLength(1);
  });

  it('recomputes a user after an event enters their history, not after an impression or another user’s click', async () => {
    const { call, source } = createTestApp();
    expect((await recommend(call, { userId: 'u1' })).items.map((i) => i.itemId)).toEqual(['item-0', 'item-1']);
    await call('POST', '/v1/events', { events: [ev('i1', { type: 'impression', itemId: 'item-0' }), ev('c2', { userId: 'u2', itemId: 'item-0' })] });
    await recommend(call, { userId: 'u1' });
    expect(source.requests).toHaveLength(1);
    await call('POST', '/v1/events', { events: [ev('c1', { itemId: 'item-0' })] });
    const after = await recommend(call, { userId: 'u1' });
    expect(source.requests).toHaveLength(2);
    // The clicked item is now history, so it is left out.
    expect(after.items.map((i) => i.itemId)).toEqual(['item-1', 'item-2']);
  });

  it('drops everything when the catalogue changes or another model is activated, and a user on erasure', async () => {
    const v2 = testSource({ modelId: 'm2', items: ['new-0', 'new-1', 'new-2'] });
    const models: ModelCatalog = { list: async () => [{ id: 'v1' }, { id: 'v2' }], load: async () => v2 };
    const { call, source } = createTestApp({ models, modelId: 'v1' });
    await recommend(call, { userId: 'u1' });
    await call('PATCH', '/v1/items/item-0', { hidden: true });
    expect((await recommend(call, { userId: 'u1' })).items.map((i) => i.itemId)).toEqual(['item-1', 'item-2']);
    expect(source.requests).toHaveLength(2);

    await call('POST', '/v1/events', { events: [ev('e1', { itemId: 'item-1', type: 'impression' })] });
    await call('DELETE', '/v1/users/u1');
    await recommend(call, { userId: 'u1' });
    expect(source.requests).toHaveLength(3);

    expect((await call('POST', '/v1/models/v2/activate')).status).toBe(200);
    const swapped = await recommend(call, { userId: 'u1' });
    expect(swapped.model).toBe('m2');
    expect(swapped.items.map((i) => i.itemId)).toEqual(['new-0', 'new-1']);
  });

  it('does not store what was computed from a history that changed meanwhile', async () => {
    let release: () => void = () => {};
    let hold = false;
    const source: TestSource = testSource({ beforeAnswer: () => (hold ? new Promise<void>((r) => (release = r)) : Promise.resolve()) });
    const { call } = createTestApp({ recommender: source });
    hold = true;
    const slow = recommend(call, { userId: 'u1' });
    await new Promise((r) => setTimeout(r, 5));
    hold = false;
    await call('POST', '/v1/events', { events: [ev('c1', { itemId: 'item-0' })] });
    release();
    expect((await slow).items[0]?.itemId).toBe('item-0');
    const next = await recommend(call, { userId: 'u1' });
    expect(next.items.map((i) => i.itemId)).toEqual(['item-1', 'item-2']);
    expect(source.requests).toHaveLength(2);
  });

  it('can be turned off', async () => {
    const { call, source } = createTestApp({ candidateCache: false });
    await recommend(call, { userId: 'u1' });
    await recommend(call, { userId: 'u1' });
    expect(source.requests).toHaveLength(2);
  });
});
