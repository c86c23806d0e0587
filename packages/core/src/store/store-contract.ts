// Test-only: the behaviour every Store must share, run against each implementation by its test file.
import { describe, expect, it } from 'vitest';
import type { EventRecord, RecommendationRecord, Store } from './types.js';

export function event(overrides: Partial<EventRecord> & { eventId: string }): EventRecord {
  return { type: 'click', userId: 'u1', itemId: 'i1', timestamp: 1000, receivedAt: 2000, ...overrides };
}

export function recommendation(overrides: Partial<RecommendationRecord> = {}): RecommendationRecord {
  return {
    recommId: 'r1',
    userId: 'u1',
    model: 'm@1',
    policy: 'thompson',
    createdAt: 500,
    items: [
      { itemId: 'a', position: 0, score: 2, propensity: 0.8 },
      { itemId: 'b', position: 1, score: 1, propensity: 0.5 },
    ],
    ...overrides,
  };
}

/** Hostile strings stored as data must come back byte for byte. */
export const HOSTILE = [
  "'; DROP TABLE events; --",
  'Robert"); DELETE FROM items; --',
  '\u0000nul\u0000',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🎉 \u202e',
  '%s%n%x',
  '?',
  '@event_id',
  '__proto__',
  ' ',
  'x'.repeat(2000),
];

export function storeContract(name: string, open: () => Store | Promise<Store>): void {
  describe(`${name}: Store contract`, () => {
    it('appends events idempotently by eventId, within and across batches', async () => {
      const store = await open();
      const first = await store.appendEvents([event({ eventId: 'e1' }), event({ eventId: 'e2' }), event({ eventId: 'e1', itemId: 'other' })]);
      expect(first).toEqual(['accepted', 'accepted', 'duplicate']);
      expect(await store.appendEvents([event({ eventId: 'e2' }), event({ eventId: 'e3' })])).toEqual(['duplicate', 'accepted']);
      expect(await store.countEvents()).toBe(3);
      // The first write wins: a duplicate never overwrites.
      expect((await store.getEvent('e1'))?.itemId).toBe('i1');
      await store.close();
    });

    it('round-trips every event field and lists by filter in arrival order', async () => {
      const store = await open();
      const full = event({
        eventId: 'full',
        type: 'rating',
        recommId: 'r9',
        position: 3,
        value: 4.5,
        context: { page: 'home', nested: { a: [1, 2] } },
      });
      await store.appendEvents([full, event({ eventId: 'other', userId: 'u2', type: 'skip' })]);
      const got = await store.getEvent('full');
      expect(got).toMatchObject(full);
      expect(got?.seq).toBeGreaterThan(0);
      expect((await store.getEvent('other'))?.recommId).toBeUndefined();
      expect((await store.listEvents({ userId: 'u2' })).map((e) => e.eventId)).toEqual(['other']);
      expect((await store.listEvents({ type: 'rating' })).map((e) => e.eventId)).toEqual(['full']);
      expect((await store.listEvents({ recommId: 'r9' })).map((e) => e.eventId)).toEqual(['full']);
      const all = await store.listEvents();
      expect(all.map((e) => e.eventId)).toEqual(['full', 'other']);
      expect((await store.listEvents({ afterSeq: all[0]?.seq ?? 0 })).map((e) => e.eventId)).toEqual(['other']);
      expect(await store.listEvents({ limit: 1 })).toHaveLength(1);
      expect(await store.getEvent('missing')).toBeUndefined();
      await store.close();
    });

    it('stores hostile strings as data', async () => {
      const store = await open();
      const events = HOSTILE.map((s, i) => event({ eventId: s, userId: s, itemId: s, recommId: s, context: { [s]: s } , timestamp: i }));
      expect(await store.appendEvents(events)).toEqual(HOSTILE.map(() => 'accepted'));
      for (const s of HOSTILE) {
        const got = await store.getEvent(s);
        expect(got?.userId).toBe(s);
        expect(got?.itemId).toBe(s);
        expect(got?.context?.[s]).toBe(s);
      }
      await store.putItems(HOSTILE.map((s) => ({ itemId: s, attributes: { title: s } })), 1);
      for (const s of HOSTILE) expect((await store.getItem(s))?.attributes.title).toBe(s);
      expect(await store.countEvents()).toBe(HOSTILE.length);
      await store.close();
    });

    it('logs recommendations and attributes feedback once per impression', async () => {
      const store = await open();
      const userFeatures = new Float32Array([0.5, -1, 2]);
      await store.logRecommendation(recommendation({ userFeatures, context: { page: 'home' } }));
      const rec = await store.getRecommendation('r1');
      expect(rec?.items.map((i) => [i.itemId, i.position, i.propensity])).toEqual([
        ['a', 0, 0.8],
        ['b', 1, 0.5],
      ]);
      expect(Array.from(rec?.userFeatures ?? [])).toEqual([0.5, -1, 2]);
      expect(rec?.context).toEqual({ page: 'home' });
      expect(await store.getImpression('r1', 'b')).toMatchObject({ policy: 'thompson', propensity: 0.5, trial: false, reward: null, userId: 'u1' });

      const [seen, click, again, unknown, otherItem] = await store.attributeFeedback([
        { recommId: 'r1', itemId: 'a', reward: null },
        { recommId: 'r1', itemId: 'a', reward: 1 },
        { recommId: 'r1', itemId: 'a', reward: 0.5 },
        { recommId: 'nope', itemId: 'a', reward: 1 },
        { recommId: 'r1', itemId: 'zzz', reward: 1 },
      ]);
      expect(seen).toMatchObject({ trial: 1, reward: 0 });
      expect(Array.from(seen?.userFeatures ?? [])).toEqual([0.5, -1, 2]);
      expect(click).toMatchObject({ trial: 0, reward: 1 });
      expect(again).toMatchObject({ trial: 0, reward: 0 });
      expect(unknown).toBeUndefined();
      expect(otherItem).toBeUndefined();
      expect(await store.getImpression('r1', 'a')).toMatchObject({ trial: true, reward: 1 });

      // A skip alone is one trial with its (possibly negative) reward.
      const [skip] = await store.attributeFeedback([{ recommId: 'r1', itemId: 'b', reward: -0.5 }]);
      expect(skip).toMatchObject({ trial: 1, reward: -0.5 });
      expect(await store.getRecommendation('missing')).toBeUndefined();
      await store.close();
    });

    it('lists the recommendation log in logged order, a page at a time, with each impression and its feedback', async () => {
      const store = await open();
      expect(await store.listRecommendations()).toEqual({ slates: [] });
      for (let i = 1; i <= 5; i++) await store.logRecommendation(recommendation({ recommId: `r${i}`, userId: i === 3 ? undefined : `u${i % 2}`, createdAt: 100 * i }));
      await store.attributeFeedback([
        { recommId: 'r2', itemId: 'b', reward: 1 },
        { recommId: 'r4', itemId: 'a', reward: null },
      ]);
      const first = await store.listRecommendations({ limit: 2 });
      expect(first.slates.map((s) => s.recommendation.recommId)).toEqual(['r1', 'r2']);
      const rest = await store.listRecommendations({ afterSeq: first.next, limit: 10 });
      expect(rest.slates.map((s) => s.recommendation.recommId)).toEqual(['r3', 'r4', 'r5']);
      expect(await store.listRecommendations({ afterSeq: rest.next })).toEqual({ slates: [] });
      const all = [...first.slates, ...rest.slates];
      // every shown item is an impression, with its propensity and the feedback it got so far
      expect(all.map((s) => s.impressions.map((i) => [i.itemId, i.position, i.propensity, i.trial, i.reward]))).toEqual([
        [['a', 0, 0.8, false, null], ['b', 1, 0.5, false, null]],
        [['a', 0, 0.8, false, null], ['b', 1, 0.5, true, 1]],
        [['a', 0, 0.8, false, null], ['b', 1, 0.5, false, null]],
        [['a', 0, 0.8, true, null], ['b', 1, 0.5, false, null]],
        [['a', 0, 0.8, false, null], ['b', 1, 0.5, false, null]],
      ]);
      expect(all[2]?.recommendation).toMatchObject({ recommId: 'r3', userId: undefined, createdAt: 300 });
      expect(all[1]?.impressions[1]).toMatchObject({ recommId: 'r2', userId: 'u0', policy: 'thompson', model: 'm@1', createdAt: 200 });
      // an erased user's slates leave the log
      await store.deleteUser('u1');
      expect((await store.listRecommendations()).slates.map((s) => s.recommendation.recommId)).toEqual(['r2', 'r3', 'r4']);
      await store.close();
    });

    it('keeps the catalogue: put replaces, patch merges, hidden set, paging, delete', async () => {
      const store = await open();
      await store.putItems([{ itemId: 'b', attributes: { genre: 'drama', year: 1999 } }, { itemId: 'a', hidden: true }, { itemId: 'c' }], 10);
      expect(await store.getItem('b')).toEqual({ itemId: 'b', attributes: { genre: 'drama', year: 1999 }, hidden: false, createdAt: 10, updatedAt: 10 });
      expect([...(await store.hiddenItemIds())]).toEqual(['a']);

      const patched = await store.patchItem('b', { attributes: { year: null, lang: 'en' }, hidden: true }, 20);
      expect(patched).toEqual({ itemId: 'b', attributes: { genre: 'drama', lang: 'en' }, hidden: true, createdAt: 10, updatedAt: 20 });
      expect([...(await store.hiddenItemIds())].sort()).toEqual(['a', 'b']);
      expect(await store.patchItem('missing', { hidden: true }, 20)).toBeUndefined();

      const [replaced] = await store.putItems([{ itemId: 'b', attributes: { x: 1 } }], 30);
      expect(replaced).toEqual({ itemId: 'b', attributes: { x: 1 }, hidden: false, createdAt: 10, updatedAt: 30 });
      expect([...(await store.hiddenItemIds())]).toEqual(['a']);

      expect((await store.listItems()).map((i) => i.itemId)).toEqual(['a', 'b', 'c']);
      expect((await store.listItems({ afterId: 'a', limit: 1 })).map((i) => i.itemId)).toEqual(['b']);
      expect((await store.listItems({ hidden: false })).map((i) => i.itemId)).toEqual(['b', 'c']);
      expect([...(await store.getItems(['c', 'zz', 'a'])).keys()].sort()).toEqual(['a', 'c']);

      expect(await store.deleteItem('a')).toBe(true);
      expect(await store.deleteItem('a')).toBe(false);
      expect((await store.hiddenItemIds()).size).toBe(0);
      await store.close();
    });

    it('keeps users: profile, recent distinct history, erasure', async () => {
      const store = await open();
      await store.putUser('u1', { plan: 'pro' }, 5);
      expect(await store.getUser('u1')).toEqual({ userId: 'u1', attributes: { plan: 'pro' }, createdAt: 5, updatedAt: 5 });
      await store.appendEvents([
        event({ eventId: '1', itemId: 'a', timestamp: 1 }),
        event({ eventId: '2', itemId: 'b', timestamp: 2, type: 'purchase' }),
        event({ eventId: '3', itemId: 'a', timestamp: 3 }),
        event({ eventId: '4', itemId: 'c', timestamp: 4, type: 'impression' }),
        event({ eventId: '5', itemId: 'd', timestamp: 5, type: 'skip' }),
        event({ eventId: '6', itemId: 'e', timestamp: 6, userId: 'u2' }),
      ]);
      expect(await store.getUserHistory('u1')).toEqual(['a', 'b']);
      expect(await store.getUserHistory('u1', { limit: 1 })).toEqual(['a']);
      expect(await store.getUserHistory('u1', { types: ['impression', 'skip'] })).toEqual(['d', 'c']);
      expect(await store.getUserHistory('nobody')).toEqual([]);

      await store.logRecommendation(recommendation({ recommId: 'ru1', userId: 'u1' }));
      expect(await store.deleteUser('u1')).toEqual({ profile: true, events: 5, recommendations: 1 });
      expect(await store.getUser('u1')).toBeUndefined();
      expect(await store.getRecommendation('ru1')).toBeUndefined();
      expect(await store.getImpression('ru1', 'a')).toBeUndefined();
      expect(await store.countEvents()).toBe(1);
      // An erased user's event ids may be sent again.
      expect(await store.appendEvents([event({ eventId: '1' })])).toEqual(['accepted']);
      await store.close();
    });

    it('keeps policy state entries per policy, JSON and binary', async () => {
      const store = await open();
      const blob = new Uint8Array([0, 1, 2, 255]);
      await store.putPolicyState('p', [
        ['meta', { json: { dim: 3 } }],
        ['arm:x', { blob, json: [1, 2] }],
      ], 1);
      await store.putPolicyState('p', [['meta', { json: { dim: 4 } }]], 2);
      await store.putPolicyState('q', [['meta', { json: 'other' }]], 2);
      const state = await store.getPolicyState('p');
      expect(state.get('meta')?.json).toEqual({ dim: 4 });
      expect(Array.from(state.get('arm:x')?.blob ?? [])).toEqual([0, 1, 2, 255]);
      expect(state.get('arm:x')?.json).toEqual([1, 2]);
      blob[0] = 9; // the store kept a copy
      expect((await store.getPolicyState('p')).get('arm:x')?.blob?.[0]).toBe(0);
      await store.deletePolicyState('p');
      expect((await store.getPolicyState('p')).size).toBe(0);
      expect((await store.getPolicyState('q')).size).toBe(1);
      await store.close();
    });

    it('writeBatch: keeps every write that succeeded, returns or rethrows what fn did, runs batches in turn', async () => {
      const store = await open();
      const batch = store.writeBatch?.bind(store);
      if (batch === undefined) return await store.close();
      await store.logRecommendation(recommendation());
      const result = await batch(async () => {
        const statuses = await store.appendEvents([event({ eventId: 'b1', recommId: 'r1', itemId: 'a' })]);
        const deltas = await store.attributeFeedback([{ recommId: 'r1', itemId: 'a', reward: 1 }]);
        await store.putPolicyState('p', [['k', { json: 1 }]], 1);
        return { statuses, trial: deltas[0]?.trial };
      });
      expect(result).toEqual({ statuses: ['accepted'], trial: 1 });
      await expect(
        batch(async () => {
          await store.appendEvents([event({ eventId: 'b2' })]);
          throw new Error('policy update failed');
        }),
      ).rejects.toThrow('policy update failed');
      // Concurrent batches run one after another and all commit.
      const many = await Promise.all([1, 2, 3].map((i) => batch(() => store.appendEvents([event({ eventId: `c${i}` })]))));
      expect(many).toEqual([['accepted'], ['accepted'], ['accepted']]);
      expect(await store.countEvents()).toBe(5);
      expect(await store.getImpression('r1', 'a')).toMatchObject({ trial: true, reward: 1 });
      expect((await store.getPolicyState('p')).get('k')?.json).toBe(1);
      await store.close();
      await expect(batch(async () => 1)).rejects.toMatchObject({ code: 'DISPOSED' });
    });

    it('returns copies the caller cannot use to change stored state', async () => {
      const store = await open();
      const input = event({ eventId: 'c1', context: { a: 1 } });
      await store.appendEvents([input]);
      (input.context as Record<string, unknown>).a = 2;
      const got = await store.getEvent('c1');
      expect(got?.context).toEqual({ a: 1 });
      (got?.context as Record<string, unknown>).a = 3;
      expect((await store.getEvent('c1'))?.context).toEqual({ a: 1 });
      await store.close();
    });

    it('refuses calls after close with DISPOSED', async () => {
      const store = await open();
      await store.close();
      await expect(store.countEvents()).rejects.toMatchObject({ code: 'DISPOSED' });
    });
  });
}
