import { TastemakerError } from '@tastemaker/core/edge';
import type { RecommendationSource, SourceItem } from './recommendation-source.js';

/** What a cached recommend reuses: the user's stored history and the model's candidates for it. */
export interface CandidateEntry {
  /** The stored history the candidates were computed from, oldest first. */
  readonly history: readonly string[];
  /** The model's candidates, best first (seen and hidden items already left out). */
  readonly items: readonly SourceItem[];
  readonly model: string;
  /** No item id repeats in `items` (checked once, when the entry is made): policies skip the check. */
  readonly distinct: boolean;
  /** The user features a contextual policy reads, computed on first use and then kept with the entry. */
  userFeatures?: Float32Array | undefined;
}

export interface CandidateCacheOptions {
  /** Users whose candidates are kept; the least recently used user is dropped past it. Default 10,000. */
  maxUsers?: number;
}

/** A lookup that may store its answer later, unless the user's state changed in between (see begin). */
export interface CandidateTicket {
  readonly entry: CandidateEntry | undefined;
  /** Keeps a freshly computed entry, unless the user was invalidated since the ticket was taken. */
  store(entry: CandidateEntry): void;
  /** Releases the ticket without storing (the computation failed). */
  drop(): void;
}

interface Pending {
  userId: string;
  stale: boolean;
}

/**
 * Per-user candidates, so that a user asking again before anything about them changed skips the
 * history query, the user graph and the item search. The policy still runs on every request over the
 * cached candidates, so exploration, propensities and what is logged stay per request.
 *
 * An entry is valid only for the model (RecommendationSource object) that computed it and for the
 * user's stored history and the catalogue's hidden set at that time: the server invalidates a user
 * when an event that enters their history is stored or the user is deleted, and everything when the
 * catalogue changes or the model is swapped. Requests that bring their own history or exclusions
 * bypass the cache. Entries are keyed by user and by the variant of the request that shapes the
 * candidates (pool size, whether seen items are left out).
 *
 * A computation that started before an invalidation and finishes after it must not store what it read
 * before: each lookup takes a ticket, invalidation marks the user's open tickets stale, and a stale
 * ticket's store is dropped. Only one process is assumed to write the store (as with the hidden-item
 * cache of SqliteStore): writes by another process are not seen until this one invalidates.
 */
export class CandidateCache {
  readonly maxUsers: number;
  /** Map order is recency order: a hit re-inserts its user at the end, eviction takes the first. */
  private readonly users = new Map<string, { source: RecommendationSource; variants: Map<string, CandidateEntry> }>();
  private readonly pending = new Set<Pending>();
  private counters = { hits: 0, misses: 0 };

  constructor(options: CandidateCacheOptions = {}) {
    const maxUsers = options.maxUsers ?? 10_000;
    if (!Number.isInteger(maxUsers) || maxUsers <= 0) {
      throw new TastemakerError('INVALID_CONFIG', `candidateCache.maxUsers must be a positive integer, got ${String(maxUsers)}`, { option: 'candidateCache.maxUsers' });
    }
    this.maxUsers = maxUsers;
  }

  get size(): number {
    return this.users.size;
  }

  stats(): { hits: number; misses: number } {
    return { ...this.counters };
  }

  /** Looks up (user, variant) for the given model and opens a ticket to store a computed entry. */
  begin(source: RecommendationSource, userId: string, variant: string): CandidateTicket {
    const user = this.users.get(userId);
    const entry = user !== undefined && user.source === source ? user.variants.get(variant) : undefined;
    if (entry !== undefined) {
      this.counters.hits++;
      const u = user as NonNullable<typeof user>;
      this.users.delete(userId);
      this.users.set(userId, u);
      return { entry, store: () => {}, drop: () => {} };
    }
    this.counters.misses++;
    const pending: Pending = { userId, stale: false };
    this.pending.add(pending);
    return {
      entry: undefined,
      store: (computed) => {
        if (!this.pending.delete(pending) || pending.stale) return;
        this.put(source, userId, variant, computed);
      },
      drop: () => {
        this.pending.delete(pending);
      },
    };
  }

  /** The user's history or profile changed: drop their entries and any computation under way for them. */
  invalidateUser(userId: string): void {
    this.users.delete(userId);
    for (const p of this.pending) if (p.userId === userId) p.stale = true;
  }

  /** The catalogue or the model changed: drop everything. */
  clear(): void {
    this.users.clear();
    for (const p of this.pending) p.stale = true;
  }

  private put(source: RecommendationSource, userId: string, variant: string, entry: CandidateEntry): void {
    let user = this.users.get(userId);
    if (user === undefined || user.source !== source) {
      user = { source, variants: new Map() };
    } else {
      this.users.delete(userId);
    }
    user.variants.set(variant, entry);
    this.users.set(userId, user);
    if (this.users.size > this.maxUsers) {
      const oldest = this.users.keys().next().value as string;
      this.users.delete(oldest);
    }
  }
}
