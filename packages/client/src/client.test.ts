import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { byteLength } from './beacon-chunks.js';
import { createClient, TastemakerClientError, type ClientOptions } from './index.js';
import { accepted, fakeServer, json, memoryStorage, offline, seeded, type Call } from './test-helpers.js';

const endpoint = 'https://api.test/';

function setup(opts: Partial<ClientOptions> = {}, server = fakeServer()) {
  const errors: TastemakerClientError[] = [];
  const client = createClient({
    endpoint,
    key: 'pk_test',
    userId: 'u1',
    fetch: server.fetch,
    storage: null,
    random: seeded(),
    onError: (e) => void errors.push(e),
    ...opts,
  });
  return { client, errors, calls: server.calls };
}

const ids = (call: Call | undefined) => call?.body.events?.map((e) => e.itemId);

beforeEach(() => {
  vi.useFakeTimers({ now: 1_700_000_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('batching', () => {
  it('sends a batch as soon as flushAt events are queued', async () => {
    const { client, calls } = setup({ flushAt: 3 });
    client.track.click({ itemId: 'a' });
    client.track('skip', { itemId: 'b', recommId: 'r1', position: 1 });
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(0);
    const id = client.track.like({ itemId: 'c', userId: 'u2' });
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call?.url).toBe('https://api.test/v1/events');
    expect(call?.headers.authorization).toBe('Bearer pk_test');
    const events = call?.body.events ?? [];
    expect(events.map((e) => [e.type, e.userId, e.itemId])).toEqual([['click', 'u1', 'a'], ['skip', 'u1', 'b'], ['like', 'u2', 'c']]);
    expect(events[1]).toMatchObject({ recommId: 'r1', position: 1, timestamp: 1_700_000_000_000 });
    expect(events[2]?.eventId).toBe(id);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(3);
    expect(client.stats()).toEqual({ queued: 0, dropped: 0 });
  });

  it('sends a partial batch after flushInterval', async () => {
    const { client, calls } = setup({ flushInterval: 5000 });
    client.track.impression({ itemId: 'a' });
    await vi.advanceTimersByTimeAsync(4999);
    client.track.impression({ itemId: 'b' });
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(ids(calls[0])).toEqual(['a', 'b']);
  });

  it('drains a backlog in flushAt-sized batches', async () => {
    const { client, calls } = setup({ flushAt: 2, flushInterval: 10_000 });
    for (const itemId of 'abcde') client.track.click({ itemId });
    await client.flush();
    expect(calls.map(ids)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });
});

describe('retries', () => {
  it('retries a 503 with backoff and keeps the eventIds stable', async () => {
    const server = fakeServer([() => json({ error: { code: 'UNAVAILABLE', message: 'busy' } }, 503)]);
    const { client, calls, errors } = setup({ flushAt: 1, retryBaseDelay: 1000 }, server);
    client.track.click({ itemId: 'a' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.body).toEqual(calls[0]?.body);
    expect(errors).toEqual([]);
    expect(client.stats().queued).toBe(0);
  });

  it('honours Retry-After in seconds and as an HTTP date on 429', async () => {
    const retryAt = new Date(Date.now() + 9000).toUTCString();
    const server = fakeServer([
      () => json({}, 429, { 'retry-after': '7' }),
      () => json({}, 429, { 'retry-after': retryAt }),
    ]);
    const { client, calls } = setup({ flushAt: 1, retryBaseDelay: 10 }, server);
    const t0 = Date.now();
    client.track.click({ itemId: 'a' });
    await vi.advanceTimersByTimeAsync(6999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls.map((c) => c.at - t0)).toEqual([0, 7000, 9000]);
  });

  it('does not retry a 400: drops the batch and reports the server error', async () => {
    const server = fakeServer([() => json({ error: { code: 'INVALID_ARGUMENT', message: 'bad event' } }, 400)]);
    const { client, calls, errors } = setup({ flushAt: 1 }, server);
    client.track.click({ itemId: 'a' });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(1);
    expect(client.stats().queued).toBe(0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400, message: 'bad event' });
    expect((errors[0]?.details?.dropped as unknown[]).length).toBe(1);
  });

  it('grows the backoff exponentially up to the cap', async () => {
    const server = fakeServer([], () => json({}, 500));
    const { client, calls } = setup({ flushAt: 1, maxRetries: 6, retryBaseDelay: 100, retryMaxDelay: 1000, random: () => 0.9999 }, server);
    const t0 = Date.now();
    client.track.click({ itemId: 'a' });
    await vi.advanceTimersByTimeAsync(10_000);
    const gaps = calls.slice(1).map((c, i) => c.at - (calls[i]?.at ?? t0));
    expect(gaps.map((g) => Math.ceil(g / 10) * 10)).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(calls[0]?.at).toBe(t0);
  });

  it('keeps events queued after the retries run out, then sends them with the same eventIds', async () => {
    let up = false;
    const server = fakeServer([], (c) => (up ? accepted(c.body.events?.length) : (offline() as never)));
    const { client, calls, errors } = setup({ flushAt: 1, maxRetries: 2, retryBaseDelay: 100 }, server);
    client.track.click({ itemId: 'a' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(3);
    expect(errors.map((e) => e.code)).toEqual(['NETWORK_ERROR']);
    expect(client.stats().queued).toBe(1);
    up = true;
    await client.flush();
    expect(calls).toHaveLength(4);
    expect(calls[3]?.body).toEqual(calls[0]?.body);
    expect(client.stats().queued).toBe(0);
  });

  it('reports events the server rejects individually without retrying them', async () => {
    const server = fakeServer([() => json({ accepted: 1, duplicates: 0, rejected: [{ index: 1, error: 'unknown item' }] })]);
    const { client, calls, errors } = setup({ flushAt: 2 }, server);
    client.track.click({ itemId: 'a' });
    client.track.click({ itemId: 'zz' });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(1);
    expect(errors[0]?.code).toBe('EVENTS_REJECTED');
    expect(errors[0]?.details?.rejected).toEqual([{ index: 1, error: 'unknown item', event: expect.objectContaining({ itemId: 'zz' }) }]);
    expect(client.stats().queued).toBe(0);
  });
});

describe('offline queue', () => {
  it('persists the queue to storage and a new client restores and sends it', async () => {
    const storage = memoryStorage();
    const first = setup({ storage, maxRetries: 0, fetch: () => offline() });
    const a = first.client.track.click({ itemId: 'a' });
    const b = first.client.track.purchase({ itemId: 'b', value: 9.5 });
    await first.client.flush();
    first.client.dispose();
    expect(JSON.parse(storage.data.get('tastemaker:queue:https://api.test') ?? '[]').map((e: { eventId: string }) => e.eventId)).toEqual([a, b]);

    const second = setup({ storage, flushInterval: 1000 });
    expect(second.client.stats().queued).toBe(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(second.calls[0]?.body.events?.map((e) => e.eventId)).toEqual([a, b]);
    expect(storage.data.size).toBe(0);
  });

  it('drops the oldest events beyond the cap and counts them', async () => {
    const { client, calls, errors } = setup({ maxQueue: 3, flushAt: 100 });
    for (const itemId of 'abcde') client.track.click({ itemId });
    expect(client.stats()).toEqual({ queued: 3, dropped: 2 });
    expect(errors.map((e) => e.code)).toEqual(['QUEUE_OVERFLOW', 'QUEUE_OVERFLOW']);
    await client.flush();
    expect(ids(calls[0])).toEqual(['c', 'd', 'e']);
  });

  it('trims a restored queue that exceeds a smaller cap', () => {
    const storage = memoryStorage();
    const first = setup({ storage, flushAt: 100 });
    for (const itemId of 'abcd') first.client.track.click({ itemId });
    first.client.dispose();
    const second = setup({ storage, maxQueue: 2 });
    expect(second.client.stats()).toEqual({ queued: 2, dropped: 2 });
  });
});

describe('page lifecycle', () => {
  function page() {
    const win = new EventTarget();
    const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' });
    vi.stubGlobal('window', win);
    vi.stubGlobal('document', doc);
    return { win, doc };
  }

  it('flushes with sendBeacon on pagehide, splitting batches over 64 KB', async () => {
    const { win } = page();
    const beacons: { url: string; type: string; body: string }[] = [];
    const pending: Promise<void>[] = [];
    const beacon = (url: string, data: Blob) => {
      pending.push(data.text().then((body) => void beacons.push({ url, type: data.type, body })));
      return true;
    };
    const { client, calls } = setup({ beacon, flushAt: 1000, maxQueue: 1000 });
    const sent = Array.from({ length: 400 }, (_, i) => client.track.custom({ itemId: `item-${i}`, context: { note: 'x'.repeat(300) } }));
    win.dispatchEvent(new Event('pagehide'));
    await Promise.all(pending);
    expect(beacons.length).toBeGreaterThan(1);
    for (const b of beacons) {
      expect(b.url).toBe('https://api.test/v1/events?key=pk_test');
      expect(b.type).toBe('text/plain;charset=utf-8');
      expect(byteLength(b.body)).toBeLessThan(64 * 1024);
    }
    expect(beacons.flatMap((b) => JSON.parse(b.body).events.map((e: { eventId: string }) => e.eventId))).toEqual(sent);
    expect(client.stats().queued).toBe(0);
    expect(calls).toHaveLength(0);
  });

  it('keeps events queued when sendBeacon refuses, and only beacons when the page is hidden', async () => {
    const { doc } = page();
    let accept = 1;
    const beacon = vi.fn(() => accept-- > 0);
    const { client } = setup({ beacon, flushAt: 1000, maxQueue: 1000, fetch: () => offline(), maxRetries: 0 });
    for (let i = 0; i < 400; i++) client.track.custom({ itemId: `item-${i}`, context: { note: 'x'.repeat(300) } });
    doc.dispatchEvent(new Event('visibilitychange'));
    expect(beacon).not.toHaveBeenCalled();
    doc.visibilityState = 'hidden';
    doc.dispatchEvent(new Event('visibilitychange'));
    expect(beacon).toHaveBeenCalledTimes(2);
    const left = client.stats().queued;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(400);
    client.dispose();
    doc.dispatchEvent(new Event('visibilitychange'));
    expect(beacon).toHaveBeenCalledTimes(2);
  });
});

describe('track never throws', () => {
  const garbage: unknown[][] = [
    [],
    [null, null],
    ['click'],
    ['click', null],
    ['nope', { itemId: 'a' }],
    [Symbol('x'), { itemId: 'a' }],
    ['click', { itemId: '' }],
    ['click', { itemId: 42 }],
    ['click', { itemId: 'a', userId: 7 }],
    ['click', { itemId: 'a', position: -1 }],
    ['click', { itemId: 'a', position: 1.5 }],
    ['click', { itemId: 'a', value: Number.NaN }],
    ['click', { itemId: 'a', timestamp: 'yesterday' }],
    ['click', { itemId: 'a', context: [] }],
    ['click', { itemId: 'a', context: { big: 1n } }],
    ['rating', { itemId: 'a' }],
    ['dwell', { itemId: 'a' }],
    ['click', { get itemId(): string { throw new Error('getter'); } }],
    ['click', new Proxy({}, { get: () => { throw new Error('proxy'); } })],
  ];

  it('reports invalid input through onError and drops it', () => {
    const { client, errors } = setup();
    const track = client.track as unknown as (...args: unknown[]) => unknown;
    for (const args of garbage) expect(track(...args)).toBeUndefined();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(client.track.click({ itemId: 'a', context: circular })).toBeUndefined();
    expect(client.track.click(undefined as never)).toBeUndefined();
    expect(errors).toHaveLength(garbage.length + 2);
    expect(errors.every((e) => e instanceof TastemakerClientError && e.code === 'INVALID_ARGUMENT')).toBe(true);
    expect(errors[4]?.message).toContain('Valid values: impression, click, skip');
    expect(client.stats().queued).toBe(0);
  });

  it('holds for arbitrary input', () => {
    const { client } = setup({ onError: () => {} });
    const track = client.track as unknown as (...args: unknown[]) => unknown;
    fc.assert(fc.property(fc.anything(), fc.anything(), (type, props) => void track(type, props)), { numRuns: 300 });
    fc.assert(fc.property(fc.constantFrom('click', 'rating'), fc.object(), (type, props) => void track(type, props)), { numRuns: 300 });
  });

  it('survives a throwing storage and a throwing onError', async () => {
    const broken = { getItem: () => { throw new Error('denied'); }, setItem: () => { throw new Error('quota'); }, removeItem: () => { throw new Error('denied'); } };
    const errors: string[] = [];
    const { client, calls } = setup({ storage: broken, flushAt: 2, onError: (e) => { errors.push(e.code); throw new Error('app bug'); } });
    expect(client.track.click({ itemId: 'a' })).toBeTypeOf('string');
    expect(client.track.click({ itemId: 'b' })).toBeTypeOf('string');
    expect(client.track('oops' as never, { itemId: 'c' })).toBeUndefined();
    await vi.advanceTimersByTimeAsync(0);
    expect(ids(calls[0])).toEqual(['a', 'b']);
    expect(errors).toEqual(['STORAGE_ERROR', 'INVALID_ARGUMENT']);
  });

  it('drops events after dispose', () => {
    const { client, errors } = setup();
    client.dispose();
    expect(client.track.click({ itemId: 'a' })).toBeUndefined();
    expect(errors[0]?.code).toBe('DISPOSED');
  });
});

describe('recommend', () => {
  const reply = { recommId: 'r1', model: 'ease', policy: 'greedy', items: [{ itemId: 'a', score: 1, propensity: 1, position: 0 }] };

  it('posts the request with the identified user and returns the response', async () => {
    const server = fakeServer([() => json(reply)]);
    const { client, calls } = setup({}, server);
    client.identify('u9');
    await expect(client.recommend({ history: ['x'], exclude: ['y'] })).resolves.toEqual(reply);
    expect(calls[0]?.url).toBe('https://api.test/v1/recommend');
    expect(calls[0]?.body).toEqual({ history: ['x'], exclude: ['y'], userId: 'u9', k: 10 });
  });

  it('throws a typed error carrying the server code, status and message', async () => {
    const server = fakeServer([() => json({ error: { code: 'NOT_FOUND', message: 'unknown user' } }, 404)]);
    const { client, calls } = setup({}, server);
    const error = await client.recommend({ userId: 'ghost', k: 5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TastemakerClientError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', status: 404, message: 'unknown user' });
    expect(calls).toHaveLength(1);
  });

  it('falls back to HTTP_ERROR when the error body is not JSON', async () => {
    const server = fakeServer([() => new Response('nope', { status: 401 })]);
    const { client } = setup({}, server);
    await expect(client.recommend()).rejects.toMatchObject({ code: 'HTTP_ERROR', status: 401 });
  });

  it('retries 5xx and 429, then succeeds', async () => {
    const server = fakeServer([() => json({}, 502), () => json({}, 429, { 'retry-after': '1' }), () => json(reply)]);
    const { client, calls } = setup({ retryBaseDelay: 100 }, server);
    const result = client.recommend();
    await vi.advanceTimersByTimeAsync(2000);
    await expect(result).resolves.toEqual(reply);
    expect(calls).toHaveLength(3);
  });

  it('reports network failure after the retries as NETWORK_ERROR', async () => {
    const { client, calls } = setup({ fetch: () => offline(), retryBaseDelay: 10, maxRetries: 2 }, fakeServer());
    const result = client.recommend().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await result).toMatchObject({ code: 'NETWORK_ERROR', status: undefined });
    expect(calls).toHaveLength(0);
  });

  it('times out as a whole, retries included, even if fetch ignores the abort signal', async () => {
    const signals: (AbortSignal | null | undefined)[] = [];
    const hang = (_url: string, init: RequestInit) => (signals.push(init.signal), new Promise<Response>(() => {}));
    const { client } = setup({ fetch: hang, timeout: 3000 });
    const result = client.recommend().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(3000);
    expect(await result).toMatchObject({ code: 'TIMEOUT' });
    expect(signals[0]?.aborted).toBe(true);
  });

  it('rejects malformed responses and arguments', async () => {
    const server = fakeServer([() => new Response('{oops', { status: 200 }), () => json({ items: 'no' })]);
    const { client, calls } = setup({}, server);
    await expect(client.recommend()).rejects.toMatchObject({ code: 'INVALID_RESPONSE' });
    await expect(client.recommend()).rejects.toMatchObject({ code: 'INVALID_RESPONSE' });
    await expect(client.recommend({ k: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.recommend(null as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(calls).toHaveLength(2);
  });
});

describe('createClient', () => {
  it('fails at construction on bad options, naming the valid values', () => {
    expect(() => createClient({} as ClientOptions)).toThrow(/Invalid endpoint/);
    expect(() => createClient({ endpoint, flushAt: 0 })).toThrow('Invalid flushAt: 0. Valid values: an integer >= 1.');
    expect(() => createClient({ endpoint, maxRetries: 1.5 })).toThrow(/maxRetries/);
    expect(() => createClient({ endpoint, timeout: '1' as never })).toThrow(/timeout/);
  });

  it('shutdown flushes what is queued and stops the timer', async () => {
    const { client, calls } = setup();
    client.track.click({ itemId: 'a' });
    await client.shutdown();
    expect(ids(calls[0])).toEqual(['a']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('dispose cancels the pending flush', async () => {
    const { client, calls } = setup();
    client.track.click({ itemId: 'a' });
    client.dispose();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(0);
  });
});
