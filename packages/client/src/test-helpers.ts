import type { StorageLike } from './types.js';

export interface Call {
  url: string;
  headers: Record<string, string>;
  body: { events?: Array<Record<string, unknown>> } & Record<string, unknown>;
  at: number;
}

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

export const accepted = (n = 0) => json({ accepted: n, duplicates: 0, rejected: [] });

/** An injected fetch that records calls; `replies` are used in order, then `fallback` for every later call. */
export function fakeServer(replies: Array<(call: Call) => Response | Promise<Response>> = [], fallback = (call: Call) => accepted(call.body.events?.length)) {
  const calls: Call[] = [];
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const call: Call = { url, headers: init.headers as Record<string, string>, body: JSON.parse(String(init.body)), at: Date.now() };
    calls.push(call);
    return (replies.shift() ?? fallback)(call);
  };
  return { fetch, calls };
}

export const offline = () => Promise.reject(new TypeError('fetch failed'));

export function memoryStorage(): StorageLike & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
  };
}

/** mulberry32: a seeded PRNG so eventIds are distinct but reproducible. */
export function seeded(seed = 1): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
