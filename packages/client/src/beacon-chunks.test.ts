import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byteLength, chunkForBeacon } from './beacon-chunks.js';

describe('chunkForBeacon', () => {
  it('keeps every chunk under the limit and every event, in order', () => {
    const event = fc.record({ eventId: fc.uuid(), itemId: fc.string({ unit: 'grapheme', maxLength: 300 }), n: fc.integer() });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 200 }), fc.integer({ min: 60, max: 4000 }), (events, limit) => {
        const { chunks, rest } = chunkForBeacon(events, limit);
        for (const c of chunks) {
          expect(byteLength(c.body)).toBeLessThanOrEqual(limit);
          expect(JSON.parse(c.body)).toEqual({ events: c.events });
          expect(c.events.length).toBeGreaterThan(0);
        }
        // Oversized events are set aside, everything else is sent in the original order.
        const sent = chunks.flatMap((c) => c.events);
        expect(sent).toEqual(events.filter((e) => !rest.includes(e)));
        for (const e of rest) expect(byteLength(JSON.stringify({ events: [e] }))).toBeGreaterThan(limit);
      }),
      { numRuns: 200 },
    );
  });

  it('splits a large queue under the default 64 KB beacon limit, counting UTF-8 bytes', () => {
    const events = Array.from({ length: 500 }, (_, i) => ({ eventId: String(i), itemId: 'é'.repeat(200) }));
    const { chunks, rest } = chunkForBeacon(events);
    expect(rest).toEqual([]);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(byteLength(c.body)).toBeLessThan(65_536);
    expect(chunks.flatMap((c) => c.events)).toEqual(events);
  });
});
