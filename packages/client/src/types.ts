import type { TastemakerClientError } from './errors.js';

export const EVENT_TYPES = ['impression', 'click', 'skip', 'like', 'dislike', 'purchase', 'rating', 'dwell', 'custom'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** What an app passes to `track`; `userId` falls back to the identified user. */
export interface TrackProps {
  itemId: string;
  userId?: string;
  recommId?: string;
  position?: number;
  /** Required for `rating` (the rating) and `dwell` (milliseconds). */
  value?: number;
  /** Epoch milliseconds; defaults to the client's clock. */
  timestamp?: number;
  context?: Record<string, unknown>;
  /** Normally generated; pass one to make a retried app-level action idempotent too. */
  eventId?: string;
}

/** An event as queued and sent to `POST /v1/events`. */
export interface TrackedEvent {
  eventId: string;
  type: EventType;
  userId: string;
  itemId: string;
  timestamp: number;
  recommId?: string;
  position?: number;
  value?: number;
  context?: Record<string, unknown>;
}

export type TrackFn = (type: EventType, props: TrackProps) => string | undefined;
/** `track(type, props)` plus one shorthand per event type; returns the eventId, or undefined when dropped. */
export type Track = TrackFn & { [K in EventType]: (props: TrackProps) => string | undefined };

export interface RecommendRequest {
  userId?: string;
  history?: string[];
  /** Defaults to 10. */
  k?: number;
  context?: Record<string, unknown>;
  filters?: Record<string, unknown>;
  exclude?: string[];
}

export interface RecommendedItem {
  itemId: string;
  score: number;
  propensity: number;
  position: number;
  /** Why: a knowledge-graph path from the user's history, when the model has a knowledge graph. */
  explanation?: ItemExplanation;
}

export interface ItemExplanation {
  /** e.g. "same genre (Drama) as Heat (1995)" */
  text: string;
  /** relation of the recommended item to the shared entity, e.g. "genre" */
  relation: string;
  /** the shared entity, e.g. "Drama" */
  entity: string;
  /** id of the history item at the other end of the path */
  viaItem: string;
}

export interface RecommendResponse {
  recommId: string;
  model: string;
  policy: string;
  items: RecommendedItem[];
}

/** The subset of the Web Storage API the offline queue needs. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;
export type BeaconLike = (url: string, data: Blob) => boolean;

export interface ClientOptions {
  /** Server base URL, e.g. `https://api.example.com` (relative URLs work in browsers). */
  endpoint: string;
  /** Publishable key; sent as `Authorization: Bearer`, and as `?key=` on beacons, which cannot carry headers. */
  key?: string;
  userId?: string;
  fetch?: FetchLike;
  /** Defaults to `localStorage` in browsers and memory elsewhere; `null` keeps the queue in memory. */
  storage?: StorageLike | null;
  /** Defaults to `tastemaker:queue:<endpoint>`. */
  storageKey?: string;
  timers?: Timers;
  now?: () => number;
  /** Drives backoff jitter and eventIds; when absent, eventIds come from `crypto.randomUUID`. */
  random?: () => number;
  /** Queue length that triggers a flush, and the batch size. Default 20. */
  flushAt?: number;
  /** Milliseconds an event may wait before a flush. Default 5000. */
  flushInterval?: number;
  /** Queue cap; the oldest events are dropped (and counted) beyond it. Default 1000. */
  maxQueue?: number;
  /** Retries after the first attempt, for events and `recommend`. Default 3. */
  maxRetries?: number;
  /** Backoff before retry n is uniform in [0, min(retryMaxDelay, retryBaseDelay * 2^n)). Defaults 500 / 30000 ms. */
  retryBaseDelay?: number;
  retryMaxDelay?: number;
  /** Total time `recommend` may take, retries included. Default 10000 ms. */
  timeout?: number;
  /** Defaults to `navigator.sendBeacon`; `false` disables beacons. */
  beacon?: BeaconLike | false;
  /** Receives every error `track` and the background flush swallow. Defaults to `console.warn`. */
  onError?: (error: TastemakerClientError) => void;
}

/** Element-to-item mapping and visibility threshold for `observeImpressions`. */
export interface ObserveOptions {
  userId?: string;
  /** Defaults to the element's `data-item-id` attribute. */
  itemIdOf?: (element: Element) => string | null | undefined;
  /** Fraction of the element that must be visible. Default 0.5. */
  threshold?: number;
  IntersectionObserver?: typeof IntersectionObserver;
}

export interface ClientStats {
  queued: number;
  /** Events dropped by the queue cap since the client was created. */
  dropped: number;
}

export interface TastemakerClient {
  recommend(request?: RecommendRequest, options?: { timeout?: number }): Promise<RecommendResponse>;
  track: Track;
  identify(userId: string | undefined): void;
  /** Records impressions of the rendered items: all, the first `render`, or those listed. */
  trackRendered(
    recommendation: RecommendResponse,
    options?: { userId?: string; render?: number | ReadonlyArray<string | { itemId: string }> },
  ): string[];
  /** Records each item's impression once its element is visible; returns a function that stops observing. */
  observeImpressions(recommendation: RecommendResponse, elements: Iterable<Element>, options?: ObserveOptions): () => void;
  flush(): Promise<void>;
  stats(): ClientStats;
  /** Flushes, then disposes. */
  shutdown(): Promise<void>;
  /** Stops timers, listeners and observers without sending; queued events stay in storage. */
  dispose(): void;
}
