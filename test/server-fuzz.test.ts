/**
 * Hostile input to /v1/events: random JSON, random bytes, events with hostile strings and wrong
 * types. The server never answers 5xx, and the store never holds anything but valid events.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES, MemoryStore, SqliteStore, type Store } from '@tastemaker/core';
import { createTestApp, testSource } from '../packages/server/src/testing/test-app.js';

const dir = mkdtempSync(join(tmpdir(), 'tastemaker-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hostile = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom("'; DROP TABLE events; --", '\u0000', '\ud800', '__proto__', 'constructor', '%00', '../../etc/passwd', '<script>', 'item-1', ''),
);
const anyValue = fc.oneof(hostile, fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 3 }));
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

/** Shaped like a valid event but with hostile strings everywhere a string goes. */
const plausibleEvent = fc.record(
  {
    eventId: fc.oneof(hostile, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 })),
    type: fc.constantFrom(...EVENT_TYPES),
    userId: hostile,
    itemId: fc.constantFrom('item-0', 'item-1', 'item-2'),
    recommId: fc.constantFrom('rec-1', 'rec-2'),
    position: fc.integer({ min: 0, max: 10 }),
    value: fc.double({ noNaN: true, noDefaultInfinity: true }),
    timestamp: fc.oneof(fc.integer({ min: 0 }), fc.date({ noInvalidDate: true, min: new Date(0) }).map((d) => d.toISOString())),
    context: fc.dictionary(hostile, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
  },
  { requiredKeys: ['eventId', 'type', 'userId', 'itemId'] },
);

/** Anything in any field. */
const wildEvent = fc.record(
  {
    eventId: fc.oneof(hostile, anyValue),
    type: fc.oneof(fc.constantFrom(...EVENT_TYPES), anyValue),
    userId: fc.oneof(hostile, anyValue),
    itemId: fc.oneof(fc.constantFrom('item-0', 'item-1', 'item-2'), hostile, anyValue),
    recommId: maybe(fc.oneof(fc.constantFrom('rec-1', 'rec-2'), hostile, anyValue)),
    position: maybe(fc.oneof(fc.integer({ min: -5, max: 10 }), anyValue)),
    value: maybe(anyValue),
    timestamp: maybe(fc.oneof(fc.integer({ min: 0 }), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), anyValue)),
    context: maybe(fc.oneof(fc.dictionary(hostile, anyValue, { maxKeys: 4 }), anyValue)),
  },
  { requiredKeys: [] },
);

const eventLike = fc.oneof({ weight: 3, arbitrary: plausibleEvent }, { weight: 2, arbitrary: wildEvent }, { weight: 1, arbitrary: anyValue });

const body = fc.oneof(
  { weight: 6, arbitrary: fc.record({ events: fc.array(eventLike, { minLength: 1, maxLength: 8 }) }).map((b) => JSON.stringify(b)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.record({ events: anyValue }).map((b) => JSON.stringify(b)) },
);

type Sent = { userId: unknown; itemId: unknown; context: unknown };

async function checkStore(store: Store, acceptedTotal: number, firstSent: Map<string, Sent>): Promise<void> {
  expect(await store.countEvents()).toBe(acceptedTotal);
  let seen = 0;
  for (let afterSeq = 0; ; ) {
    const page = await store.listEvents({ afterSeq, limit: 500 });
    if (page.length === 0) break;
    for (const e of page) {
      expect(EVENT_TYPES).toContain(e.type);
      for (const id of [e.eventId, e.userId, e.itemId]) expect(typeof id === 'string' && id.length > 0 && !/[\ud800-\udfff]/u.test(id)).toBe(true);
      expect(Number.isFinite(e.timestamp)).toBe(true);
      expect(['item-0', 'item-1', 'item-2']).toContain(e.itemId);
      // Stored exactly as first sent: hostile strings are data.
      const sent = firstSent.get(e.eventId);
      expect(sent, e.eventId).toBeDefined();
      expect(e.userId).toBe(sent?.userId);
      expect(e.itemId).toBe(sent?.itemId);
      if (sent?.context !== undefined && sent.context !== null) expect(e.context).toEqual(sent.context);
      afterSeq = e.seq;
      seen++;
    }
  }
  expect(seen).toBe(acceptedTotal);
}

for (const [name, open] of [
  ['MemoryStore', () => new MemoryStore()],
  ['SqliteStore', () => new SqliteStore(join(dir, 'fuzz.db'))],
] as const) {
  describe(`POST /v1/events fuzzing on ${name}`, () => {
    it('never answers 5xx and never stores an invalid event', async () => {
      const store: Store = open();
      const { call, logger } = createTestApp({ store, recommender: testSource() });
      // Some events can be attributed: recommendations rec-1 and rec-2 exist.
      await call('POST', '/v1/recommend', { userId: 'u', k: 3 });
      await call('POST', '/v1/recommend', { userId: 'u', k: 3 });
      let accepted = 0;
      const firstSent = new Map<string, Sent>();
      await fc.assert(
        fc.asyncProperty(body, async (text) => {
          const res = await call('POST', '/v1/events', text);
          expect(res.status).toBeLessThan(500);
          const json = (await res.json()) as { accepted?: number; rejected?: { index: number }[]; error?: { code: string; message: string } };
          if (res.status !== 200) {
            expect(typeof json.error?.code).toBe('string');
            return;
          }
          accepted += json.accepted ?? 0;
          // Events not rejected were stored, unless their id was stored before (a duplicate).
          const rejected = new Set(json.rejected?.map((r) => r.index));
          const events = (JSON.parse(text) as { events: { eventId: string; userId: unknown; itemId: unknown; context?: unknown }[] }).events;
          events.forEach((e, i) => {
            if (rejected.has(i) || firstSent.has(e.eventId)) return;
            firstSent.set(e.eventId, { userId: e.userId, itemId: e.itemId, context: e.context });
          });
        }),
        { numRuns: 250, seed: 20240601 },
      );
      expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
      // The generators reach the accepting path, not only the rejecting one.
      expect(accepted).toBeGreaterThan(100);
      await checkStore(store, accepted, firstSent);
      // The store still works normally afterwards.
      const after = await call('POST', '/v1/events', { events: [{ eventId: 'after-fuzz', type: 'click', userId: 'u', itemId: 'item-1' }] });
      expect(await after.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
      expect((await store.getEvent('after-fuzz'))?.itemId).toBe('item-1');
      await store.close();
    });
  });
}
