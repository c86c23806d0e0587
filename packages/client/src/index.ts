import { chunkForBeacon } from './beacon-chunks.js';
import { TastemakerClientError as ClientError } from './errors.js';
import { createEventQueue } from './event-queue.js';
import { createImpressionHelpers } from './impressions.js';
import { isRetryableStatus, withRetry, type RetryPolicy } from './retry.js';
import { buildEvent, isRecord, uuidFrom } from './tracked-event.js';
import {
  EVENT_TYPES,
  type ClientOptions,
  type StorageLike,
  type TastemakerClient,
  type Timers,
  type Track,
  type TrackFn,
  type TrackedEvent,
} from './types.js';

export { TastemakerClientError, type ClientErrorCode } from './errors.js';
export { EVENT_TYPES } from './types.js';
export type {
  BeaconLike,
  ClientOptions,
  ClientStats,
  EventType,
  FetchLike,
  ItemExplanation,
  ObserveOptions,
  RecommendedItem,
  RecommendRequest,
  RecommendResponse,
  StorageLike,
  TastemakerClient,
  Timers,
  Track,
  TrackedEvent,
  TrackFn,
  TrackProps,
} from './types.js';

type NumericOption = 'flushAt' | 'flushInterval' | 'maxQueue' | 'maxRetries' | 'retryBaseDelay' | 'retryMaxDelay' | 'timeout';

const config = (name: string, got: unknown, valid: string) =>
  new ClientError('INVALID_CONFIG', `Invalid ${name}: ${String(got)}. Valid values: ${valid}.`);

function defaultStorage(): StorageLike | null {
  try {
    // Only in a page: Node 22+ exposes a localStorage that warns or throws without a backing file.
    return (typeof window !== 'undefined' && window.localStorage) || null;
  } catch {
    // Sandboxed iframes and blocked cookies throw on access.
    return null;
  }
}

/** Creates the SDK client. Throws `INVALID_CONFIG` for bad options; nothing after that throws except `recommend`. */
export function createClient(options: ClientOptions): TastemakerClient {
  const o = isRecord(options) ? options : ({} as ClientOptions);
  if (typeof o.endpoint !== 'string' || !o.endpoint) throw config('endpoint', o.endpoint, 'a non-empty URL string');
  const base = o.endpoint.replace(/\/+$/, '');
  const num = (name: NumericOption, fallback: number, min: number, integer = true) => {
    const v = o[name] ?? fallback;
    if (typeof v !== 'number' || !(v >= min) || (integer && !Number.isInteger(v))) throw config(name, v, `${integer ? 'an integer' : 'a number'} >= ${min}`);
    return v;
  };
  const flushAt = num('flushAt', 20, 1);
  const flushInterval = num('flushInterval', 5000, 0, false);
  const maxQueue = num('maxQueue', 1000, 1);
  const timeout = num('timeout', 10_000, 1, false);
  const fetchFn = o.fetch ?? (typeof fetch === 'function' ? (url: string, init: RequestInit) => fetch(url, init) : undefined);
  if (!fetchFn) throw config('fetch', fetchFn, 'a fetch function (none is global here)');
  const timers: Timers = o.timers ?? {
    // Wrapped: browsers throw "Illegal invocation" when setTimeout is called as a method of another object.
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => clearTimeout(handle as number),
  };
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const newId = () =>
    !o.random && typeof crypto !== 'undefined' && crypto.randomUUID ? crypto.randomUUID() : uuidFrom(random);
  const onError =
    o.onError ?? ((e: ClientError) => typeof console !== 'undefined' && console.warn('[tastemaker]', e.message));
  const report = (e: ClientError) => {
    try {
      onError(e);
    } catch {
      // A throwing onError must not turn track() into something that throws.
    }
  };
  const policy: RetryPolicy = {
    maxRetries: num('maxRetries', 3, 0),
    baseDelay: num('retryBaseDelay', 500, 0, false),
    maxDelay: num('retryMaxDelay', 30_000, 0, false),
    random,
    now,
    sleep: (ms) => new Promise((resolve) => timers.setTimeout(resolve, ms)),
  };
  const nav = typeof navigator !== 'undefined' ? navigator : undefined;
  const beacon =
    o.beacon === false ? undefined : (o.beacon ?? (nav?.sendBeacon ? (url: string, data: Blob) => nav.sendBeacon(url, data) : undefined));
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.key) headers.authorization = `Bearer ${o.key}`;
  const post = (path: string, body: unknown, signal?: AbortSignal) =>
    fetchFn(base + path, { method: 'POST', headers, body: JSON.stringify(body), signal });

  let userId = o.userId;
  let disposed = false;
  let storageFailed = false;
  const queue = createEventQueue(
    o.storage !== undefined ? o.storage : defaultStorage(),
    o.storageKey ?? `tastemaker:queue:${base}`,
    maxQueue,
    (cause) => {
      // Once is enough: a full or blocked storage stays that way, and the queue still works in memory.
      if (!storageFailed) report(new ClientError('STORAGE_ERROR', 'Cannot persist the event queue; keeping it in memory.', { cause }));
      storageFailed = true;
    },
  );
  let dropped = queue.restoredDropped;

  const httpError = async (res: Response, details?: Record<string, unknown>) => {
    const body: unknown = await res.json().catch(() => undefined);
    const err = isRecord(body) && isRecord(body.error) ? body.error : {};
    return new ClientError(
      typeof err.code === 'string' ? err.code : 'HTTP_ERROR',
      typeof err.message === 'string' ? err.message : `HTTP ${res.status}`,
      { status: res.status, details },
    );
  };

  /** Returns whether draining may go on: false when the batch stays queued for a later flush. */
  const sendBatch = async (batch: TrackedEvent[]): Promise<boolean> => {
    let res: Response;
    try {
      res = await withRetry(() => post('/v1/events', { events: batch }), policy);
    } catch (cause) {
      report(new ClientError('NETWORK_ERROR', `Could not send ${batch.length} events; they stay queued.`, { cause }));
      return false;
    }
    if (isRetryableStatus(res.status)) {
      report(await httpError(res, { queued: batch.length }));
      return false;
    }
    queue.remove(batch);
    // Any other 4xx would fail the same way forever: drop the batch rather than block the queue.
    if (!res.ok) {
      report(await httpError(res, { dropped: batch }));
      return true;
    }
    const body: unknown = await res.json().catch(() => undefined);
    const rejected = isRecord(body) && Array.isArray(body.rejected) ? body.rejected : [];
    if (rejected.length) {
      report(
        new ClientError('EVENTS_REJECTED', `The server rejected ${rejected.length} of ${batch.length} events.`, {
          status: res.status,
          details: { rejected: rejected.map((r: unknown) => ({ ...(isRecord(r) ? r : {}), event: isRecord(r) ? batch[Number(r.index)] : undefined })) },
        }),
      );
    }
    return true;
  };

  let timer: unknown;
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const disarm = () => {
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
  };
  const arm = () => {
    if (timer === undefined && !disposed && queue.items.length) {
      timer = timers.setTimeout(() => {
        timer = undefined;
        void flush();
      }, flushInterval);
    }
  };
  const start = () =>
    (running = (async () => {
      try {
        while (queue.items.length && (await sendBatch(queue.items.slice(0, flushAt))));
      } catch (cause) {
        report(new ClientError('NETWORK_ERROR', 'Flush failed; events stay queued.', { cause }));
      }
    })().finally(() => (running = undefined)));
  // At most one drain runs and one waits, so a burst of flush() calls while offline cannot pile up retry loops.
  const flush = (): Promise<void> => {
    disarm();
    if (next) return next;
    if (running) return (next = running.then(() => ((next = undefined), start())));
    return start();
  };

  const beaconUrl = `${base}/v1/events${o.key ? `?key=${encodeURIComponent(o.key)}` : ''}`;
  const flushOnHide = () => {
    if (beacon) {
      for (const chunk of chunkForBeacon(queue.items).chunks) {
        let sent = false;
        try {
          // text/plain keeps the beacon a CORS "simple" request; JSON with an explicit type would need a preflight.
          sent = beacon(beaconUrl, new Blob([chunk.body], { type: 'text/plain;charset=UTF-8' }));
        } catch {
          // Treated like a false return: the events stay queued (and persisted) for the next page load.
        }
        if (!sent) return;
        queue.remove(chunk.events);
      }
    }
    // Events too large for a beacon, or no beacon at all: fetch may still finish if the page lives on.
    if (queue.items.length) void flush();
  };
  const win = typeof window !== 'undefined' ? window : undefined;
  const doc = typeof document !== 'undefined' ? document : undefined;
  const onPageHide = () => flushOnHide();
  const onVisibility = () => doc?.visibilityState === 'hidden' && flushOnHide();
  win?.addEventListener?.('pagehide', onPageHide);
  doc?.addEventListener?.('visibilitychange', onVisibility);

  const trackFn: TrackFn = (type, props) => {
    try {
      if (disposed) throw new ClientError('DISPOSED', 'Event dropped: the client was disposed.');
      const event = buildEvent(type, props, { userId, now, newId });
      const over = queue.push(event);
      if (over) {
        dropped += over;
        report(new ClientError('QUEUE_OVERFLOW', `Queue cap ${maxQueue} reached; dropped the oldest event.`, { details: { dropped } }));
      }
      // While a drain runs it picks new events up itself; only start one (or the timer) when idle.
      if (queue.items.length < flushAt) arm();
      else if (!running) void flush();
      return event.eventId;
    } catch (cause) {
      report(cause instanceof ClientError ? cause : new ClientError('INVALID_ARGUMENT', 'Event dropped: invalid input.', { cause }));
      return undefined;
    }
  };
  const track = trackFn as Track;
  for (const type of EVENT_TYPES) track[type] = (props) => trackFn(type, props);

  const observers = new Set<IntersectionObserver>();
  const impressions = createImpressionHelpers(trackFn, (cause) =>
    report(new ClientError('INVALID_ARGUMENT', 'Impressions not recorded: invalid input.', { cause })), observers);

  const dispose = () => {
    disposed = true;
    disarm();
    win?.removeEventListener?.('pagehide', onPageHide);
    doc?.removeEventListener?.('visibilitychange', onVisibility);
    for (const io of observers) io.disconnect();
    observers.clear();
  };

  // Events restored from storage were waiting for a flush when the last page went away.
  arm();

  return {
    track,
    ...impressions,
    flush,
    dispose,
    identify(id) {
      userId = id;
    },
    stats: () => ({ queued: queue.items.length, dropped }),
    async shutdown() {
      await flush();
      dispose();
    },
    async recommend(request = {}, opts = {}) {
      if (disposed) throw new ClientError('DISPOSED', 'recommend() after dispose().');
      if (!isRecord(request as unknown)) throw new ClientError('INVALID_ARGUMENT', 'recommend() takes an object.');
      const k = request.k ?? 10;
      if (!Number.isInteger(k) || k < 1) throw new ClientError('INVALID_ARGUMENT', `k must be a positive integer, got ${String(k)}.`);
      const limit = opts.timeout ?? timeout;
      const abort = typeof AbortController === 'function' ? new AbortController() : undefined;
      let handle: unknown;
      // Racing a timer, not only aborting, so a fetch that ignores its signal still cannot hang the app.
      const expired = new Promise<never>((_, reject) => {
        handle = timers.setTimeout(() => {
          abort?.abort();
          reject(new ClientError('TIMEOUT', `recommend() took longer than ${limit} ms.`));
        }, limit);
      });
      try {
        const body = { ...request, userId: request.userId ?? userId, k };
        const res = await Promise.race([withRetry(() => post('/v1/recommend', body, abort?.signal), policy, now() + limit), expired]);
        if (!res.ok) throw await httpError(res);
        const data: unknown = await Promise.race([res.json(), expired]);
        if (!isRecord(data) || !Array.isArray(data.items) || typeof data.recommId !== 'string') {
          throw new ClientError('INVALID_RESPONSE', 'recommend() got a response without recommId and items.', { status: res.status });
        }
        return data as unknown as Awaited<ReturnType<TastemakerClient['recommend']>>;
      } catch (cause) {
        if (cause instanceof ClientError) throw cause;
        throw new ClientError(cause instanceof SyntaxError ? 'INVALID_RESPONSE' : 'NETWORK_ERROR', 'recommend() failed.', { cause });
      } finally {
        timers.clearTimeout(handle);
      }
    },
  };
}
