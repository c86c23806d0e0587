/** Beacons share a 64 KiB in-flight quota per page; stay a little under it. */
export const BEACON_LIMIT = 64_000;

const encoder = /* @__PURE__ */ new TextEncoder();
export const byteLength = (s: string): number => encoder.encode(s).length;

/**
 * Splits events into `{"events":[…]}` bodies of at most `limit` UTF-8 bytes, in order. An event too
 * large to fit alone is left out (`rest`) so it can go by fetch rather than be silently lost.
 */
export function chunkForBeacon<T>(events: readonly T[], limit = BEACON_LIMIT): { chunks: { events: T[]; body: string }[]; rest: T[] } {
  const chunks: { events: T[]; body: string }[] = [];
  const rest: T[] = [];
  const overhead = byteLength('{"events":[]}');
  let parts: string[] = [];
  let batch: T[] = [];
  let size = overhead;
  const close = () => {
    if (batch.length) chunks.push({ events: batch, body: `{"events":[${parts.join(',')}]}` });
    parts = [];
    batch = [];
    size = overhead;
  };
  for (const event of events) {
    const json = JSON.stringify(event);
    const bytes = byteLength(json);
    if (overhead + bytes > limit) {
      rest.push(event);
      continue;
    }
    // A comma separates every element after the first.
    if (size + bytes + (batch.length ? 1 : 0) > limit) close();
    size += bytes + (batch.length ? 1 : 0);
    parts.push(json);
    batch.push(event);
  }
  close();
  return { chunks, rest };
}
