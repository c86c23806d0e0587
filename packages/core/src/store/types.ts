/**
 * The state a serving loop keeps between requests: the event log, what was shown (impressions with
 * their propensities), the catalogue, user profiles and policy state.
 *
 * Every method is async so that a networked store (Redis, Postgres) fits the same interface; the
 * embedded stores answer synchronously underneath. Stores copy what they are given and what they
 * return, so a caller mutating an object never changes stored state behind the store's back.
 */

export const EVENT_TYPES = ['impression', 'click', 'skip', 'like', 'dislike', 'purchase', 'rating', 'dwell', 'custom'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Event types that say the user engaged with the item, so it belongs to their recent history. */
export const HISTORY_EVENT_TYPES: readonly EventType[] = ['click', 'like', 'purchase', 'rating', 'dwell'];

export type JsonObject = Record<string, unknown>;

export interface EventRecord {
  /** Client-chosen id; a second event with the same id is a duplicate and is not stored again. */
  eventId: string;
  type: EventType;
  userId: string;
  itemId: string;
  /** The recommendation this event answers, for attribution to the impression. */
  recommId?: string | undefined;
  position?: number | undefined;
  /** rating, dwell seconds, or a custom amount */
  value?: number | undefined;
  /** When it happened, ms since the epoch (the client's clock). */
  timestamp: number;
  /** When the store accepted it, ms since the epoch (the server's clock). */
  receivedAt: number;
  context?: JsonObject | undefined;
}

/** A stored event with its position in the log, which orders events by arrival. */
export interface StoredEvent extends EventRecord {
  seq: number;
}

export type AppendStatus = 'accepted' | 'duplicate';

export interface EventQuery {
  userId?: string;
  recommId?: string;
  itemId?: string;
  type?: EventType;
  /** Only events with a larger seq, for paging through the log. */
  afterSeq?: number;
  /** Default 100. */
  limit?: number;
}

export interface ItemRecord {
  itemId: string;
  attributes: JsonObject;
  /** Hidden items are never recommended but stay known (events on them are accepted). */
  hidden: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface ItemInput {
  itemId: string;
  attributes?: JsonObject | undefined;
  hidden?: boolean | undefined;
}

export interface ItemPatch {
  /** Merged into the stored attributes; a key set to null is removed. */
  attributes?: JsonObject | undefined;
  hidden?: boolean | undefined;
}

export interface ItemQuery {
  /** Items with an id after this one (ids sort by UTF-16 code unit), for paging. */
  afterId?: string;
  /** Default 100. */
  limit?: number;
  /** Only hidden (true) or only visible (false) items; both when undefined. */
  hidden?: boolean;
}

export interface UserRecord {
  userId: string;
  attributes: JsonObject;
  createdAt: number;
  updatedAt: number;
}

/** One item of a served slate: where it was shown, its model score and the probability the policy chose it there. */
export interface SlateItem {
  itemId: string;
  position: number;
  score: number;
  propensity: number;
}

export interface RecommendationRecord {
  recommId: string;
  userId?: string | undefined;
  model: string;
  policy: string;
  createdAt: number;
  context?: JsonObject | undefined;
  /** The user features the policy saw, kept so a later reward updates the same context. */
  userFeatures?: Float32Array | undefined;
  items: SlateItem[];
}

export interface ImpressionRecord extends SlateItem {
  recommId: string;
  userId?: string | undefined;
  model: string;
  policy: string;
  createdAt: number;
  /** Whether feedback on this impression has counted it as a trial yet. */
  trial: boolean;
  /** The reward attributed so far (the best of the rewards seen), null before any reward. */
  reward: number | null;
}

/** A logged slate with every shown item's impression (its trial and reward so far; reward null without feedback). */
export interface LoggedSlate {
  recommendation: RecommendationRecord;
  impressions: ImpressionRecord[];
}

export interface RecommendationQuery {
  /** Only slates logged after the one whose `seq` this is, for paging through the log (pass a page's `next`). */
  afterSeq?: number;
  /** Default 100. */
  limit?: number;
}

export interface RecommendationPage {
  slates: LoggedSlate[];
  /** The seq of the page's last slate (afterSeq for the next page); absent when the page is empty. */
  next?: number;
}

export interface FeedbackInput {
  recommId: string;
  itemId: string;
  /** The event's reward, or null for an event that only says the item was seen (an impression). */
  reward: number | null;
}

/**
 * What one piece of feedback changes for the policy that chose the impression. Decomposing an
 * impression's observation into "one trial" and "reward so far" lets an impression event, a click and
 * a later purchase each update a policy without counting the impression twice: the deltas over all
 * events on an impression always sum to one trial and its best reward.
 */
export interface FeedbackDelta {
  impression: ImpressionRecord;
  userFeatures?: Float32Array | undefined;
  /** 1 when this feedback is the first on the impression. */
  trial: 0 | 1;
  /** Change of the impression's reward (0 when it did not improve). */
  reward: number;
}

/** One entry of a policy's state; a policy splits its state into entries so an update rewrites only what it touched. */
export interface PolicyStateEntry {
  json?: unknown;
  blob?: Uint8Array | undefined;
}

export interface UserDeletion {
  profile: boolean;
  events: number;
  recommendations: number;
}

export interface Store {
  /** "memory", "sqlite", … */
  readonly kind: string;

  /** Appends events in order; each is accepted or, when its eventId is already stored (or earlier in the batch), a duplicate. */
  appendEvents(events: readonly EventRecord[]): Promise<AppendStatus[]>;
  getEvent(eventId: string): Promise<StoredEvent | undefined>;
  listEvents(query?: EventQuery): Promise<StoredEvent[]>;
  countEvents(): Promise<number>;

  logRecommendation(record: RecommendationRecord): Promise<void>;
  getRecommendation(recommId: string): Promise<RecommendationRecord | undefined>;
  getImpression(recommId: string, itemId: string): Promise<ImpressionRecord | undefined>;
  /**
   * The recommendation log in the order it was logged, a page at a time, each slate with its
   * impressions: what off-policy learners (REINFORCE) train from.
   */
  listRecommendations(query?: RecommendationQuery): Promise<RecommendationPage>;
  /**
   * Attributes feedback to impressions (recommId, itemId), in order and atomically; an entry is
   * undefined when that item was not in that recommendation (or the recommendation is unknown).
   */
  attributeFeedback(inputs: readonly FeedbackInput[]): Promise<(FeedbackDelta | undefined)[]>;

  /** Inserts or fully replaces items (attributes default to {}, hidden to false); createdAt is kept on replace. */
  putItems(items: readonly ItemInput[], now: number): Promise<ItemRecord[]>;
  patchItem(itemId: string, patch: ItemPatch, now: number): Promise<ItemRecord | undefined>;
  getItem(itemId: string): Promise<ItemRecord | undefined>;
  getItems(itemIds: readonly string[]): Promise<Map<string, ItemRecord>>;
  listItems(query?: ItemQuery): Promise<ItemRecord[]>;
  deleteItem(itemId: string): Promise<boolean>;
  hiddenItemIds(): Promise<ReadonlySet<string>>;

  putUser(userId: string, attributes: JsonObject, now: number): Promise<UserRecord>;
  getUser(userId: string): Promise<UserRecord | undefined>;
  /** Removes the profile, every event and every logged recommendation of the user (for erasure requests). */
  deleteUser(userId: string): Promise<UserDeletion>;
  /** Distinct items the user engaged with, most recent first. */
  getUserHistory(userId: string, options?: { limit?: number; types?: readonly EventType[] }): Promise<string[]>;

  getPolicyState(policy: string): Promise<Map<string, PolicyStateEntry>>;
  /** Writes entries of one policy in one transaction. */
  putPolicyState(policy: string, entries: Iterable<readonly [string, PolicyStateEntry]>, now: number): Promise<void>;
  deletePolicyState(policy: string): Promise<void>;

  /**
   * Group commit: runs fn with every write this store takes meanwhile (fn's and any other caller's)
   * committed together at the end, so a batch of events, its attribution and the policy state it
   * touched cost one commit (one sync to disk) rather than one each. Only the timing of commits
   * changes: each write keeps its own atomicity, and writes that succeeded are committed even when
   * fn throws (which is then rethrown). Resolves after the commit, so acknowledging after it
   * acknowledges durable writes; if the commit itself fails, nothing of the batch is stored and that
   * error is thrown. Batches run one after another; fn must not start another batch on the same
   * store, and should await only this store: a write another caller makes while fn waits on
   * something else joins the batch and is answered before the batch commits. (SqliteStore answers
   * without yielding to the event loop, so with it nothing else runs inside a batch.) Optional:
   * without it, callers run fn as is.
   */
  writeBatch?<T>(fn: () => Promise<T>): Promise<T>;

  close(): Promise<void>;
}
