import { TastemakerError } from '../errors/index.js';
import {
  HISTORY_EVENT_TYPES,
  type AppendStatus,
  type EventQuery,
  type EventRecord,
  type EventType,
  type FeedbackDelta,
  type FeedbackInput,
  type ImpressionRecord,
  type ItemInput,
  type ItemPatch,
  type ItemQuery,
  type ItemRecord,
  type JsonObject,
  type LoggedSlate,
  type PolicyStateEntry,
  type RecommendationPage,
  type RecommendationQuery,
  type RecommendationRecord,
  type Store,
  type StoredEvent,
  type UserDeletion,
  type UserRecord,
} from './types.js';
import { bestReward, impressionOf, mergeAttributes, pageSize } from './records.js';

interface ImpressionState {
  trial: boolean;
  reward: number | null;
}

/**
 * A Store in plain Maps: for tests, the edge (one isolate's lifetime) and trying things out.
 * Nothing survives the process.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  private readonly events: StoredEvent[] = [];
  private readonly eventsById = new Map<string, StoredEvent>();
  private readonly recommendations = new Map<string, RecommendationRecord>();
  /** Each recommendation's place in the log (Map order is log order; a re-logged id keeps its place). */
  private readonly recommendationSeq = new Map<string, number>();
  private lastRecommendationSeq = 0;
  private readonly impressionState = new Map<string, ImpressionState>();
  private readonly items = new Map<string, ItemRecord>();
  private readonly users = new Map<string, UserRecord>();
  private readonly policyState = new Map<string, Map<string, PolicyStateEntry>>();
  private seq = 0;
  private closed = false;

  /** Nothing to commit in memory: runs fn. */
  async writeBatch<T>(fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    return fn();
  }

  async appendEvents(events: readonly EventRecord[]): Promise<AppendStatus[]> {
    this.assertOpen();
    return events.map((event) => {
      if (this.eventsById.has(event.eventId)) return 'duplicate';
      const stored: StoredEvent = { ...clone(event), seq: ++this.seq };
      this.events.push(stored);
      this.eventsById.set(stored.eventId, stored);
      return 'accepted';
    });
  }

  async getEvent(eventId: string): Promise<StoredEvent | undefined> {
    this.assertOpen();
    const event = this.eventsById.get(eventId);
    return event === undefined ? undefined : clone(event);
  }

  async listEvents(query: EventQuery = {}): Promise<StoredEvent[]> {
    this.assertOpen();
    const limit = pageSize(query.limit);
    const out: StoredEvent[] = [];
    for (const e of this.events) {
      if (query.afterSeq !== undefined && e.seq <= query.afterSeq) continue;
      if (query.userId !== undefined && e.userId !== query.userId) continue;
      if (query.recommId !== undefined && e.recommId !== query.recommId) continue;
      if (query.itemId !== undefined && e.itemId !== query.itemId) continue;
      if (query.type !== undefined && e.type !== query.type) continue;
      out.push(clone(e));
      if (out.length >= limit) break;
    }
    return out;
  }

  async countEvents(): Promise<number> {
    this.assertOpen();
    return this.events.length;
  }

  async logRecommendation(record: RecommendationRecord): Promise<void> {
    this.assertOpen();
    this.recommendations.set(record.recommId, clone(record));
    if (!this.recommendationSeq.has(record.recommId)) this.recommendationSeq.set(record.recommId, ++this.lastRecommendationSeq);
    for (const item of record.items) {
      this.impressionState.set(impressionKey(record.recommId, item.itemId), { trial: false, reward: null });
    }
  }

  async getRecommendation(recommId: string): Promise<RecommendationRecord | undefined> {
    this.assertOpen();
    const r = this.recommendations.get(recommId);
    return r === undefined ? undefined : clone(r);
  }

  async getImpression(recommId: string, itemId: string): Promise<ImpressionRecord | undefined> {
    this.assertOpen();
    return this.impression(recommId, itemId);
  }

  async listRecommendations(query: RecommendationQuery = {}): Promise<RecommendationPage> {
    this.assertOpen();
    const limit = pageSize(query.limit);
    const after = query.afterSeq ?? 0;
    const slates: LoggedSlate[] = [];
    let next: number | undefined;
    for (const [recommId, rec] of this.recommendations) {
      const seq = this.recommendationSeq.get(recommId) ?? 0;
      if (seq <= after) continue;
      const impressions = rec.items.map((item) => {
        const state = this.impressionState.get(impressionKey(recommId, item.itemId));
        return impressionOf(rec, item, state?.trial ?? false, state?.reward ?? null);
      });
      slates.push({ recommendation: clone(rec), impressions });
      next = seq;
      if (slates.length === limit) break;
    }
    return next === undefined ? { slates } : { slates, next };
  }

  async attributeFeedback(inputs: readonly FeedbackInput[]): Promise<(FeedbackDelta | undefined)[]> {
    this.assertOpen();
    return inputs.map((input) => this.attributeOne(input));
  }

  private attributeOne(input: FeedbackInput): FeedbackDelta | undefined {
    const key = impressionKey(input.recommId, input.itemId);
    const state = this.impressionState.get(key);
    const rec = this.recommendations.get(input.recommId);
    if (state === undefined || rec === undefined) return undefined;
    const trial: 0 | 1 = state.trial ? 0 : 1;
    const reward = bestReward(state.reward, input.reward);
    const delta = (reward ?? 0) - (state.reward ?? 0);
    state.trial = true;
    state.reward = reward;
    const impression = this.impression(input.recommId, input.itemId);
    if (impression === undefined) return undefined;
    return { impression, userFeatures: rec.userFeatures?.slice(), trial, reward: delta };
  }

  async putItems(items: readonly ItemInput[], now: number): Promise<ItemRecord[]> {
    this.assertOpen();
    return items.map((input) => {
      const existing = this.items.get(input.itemId);
      const record: ItemRecord = {
        itemId: input.itemId,
        attributes: clone(input.attributes ?? {}),
        hidden: input.hidden ?? false,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      this.items.set(record.itemId, record);
      return clone(record);
    });
  }

  async patchItem(itemId: string, patch: ItemPatch, now: number): Promise<ItemRecord | undefined> {
    this.assertOpen();
    const existing = this.items.get(itemId);
    if (existing === undefined) return undefined;
    const record: ItemRecord = {
      ...existing,
      attributes: mergeAttributes(existing.attributes, patch.attributes === undefined ? undefined : clone(patch.attributes)),
      hidden: patch.hidden ?? existing.hidden,
      updatedAt: now,
    };
    this.items.set(itemId, record);
    return clone(record);
  }

  async getItem(itemId: string): Promise<ItemRecord | undefined> {
    this.assertOpen();
    const item = this.items.get(itemId);
    return item === undefined ? undefined : clone(item);
  }

  async getItems(itemIds: readonly string[]): Promise<Map<string, ItemRecord>> {
    this.assertOpen();
    const out = new Map<string, ItemRecord>();
    for (const id of itemIds) {
      const item = this.items.get(id);
      if (item !== undefined) out.set(id, clone(item));
    }
    return out;
  }

  async listItems(query: ItemQuery = {}): Promise<ItemRecord[]> {
    this.assertOpen();
    const limit = pageSize(query.limit);
    const ids = [...this.items.keys()].sort(compareIds);
    const out: ItemRecord[] = [];
    for (const id of ids) {
      if (query.afterId !== undefined && compareIds(id, query.afterId) <= 0) continue;
      const item = this.items.get(id) as ItemRecord;
      if (query.hidden !== undefined && item.hidden !== query.hidden) continue;
      out.push(clone(item));
      if (out.length >= limit) break;
    }
    return out;
  }

  async deleteItem(itemId: string): Promise<boolean> {
    this.assertOpen();
    return this.items.delete(itemId);
  }

  async hiddenItemIds(): Promise<ReadonlySet<string>> {
    this.assertOpen();
    const out = new Set<string>();
    for (const item of this.items.values()) if (item.hidden) out.add(item.itemId);
    return out;
  }

  async putUser(userId: string, attributes: JsonObject, now: number): Promise<UserRecord> {
    this.assertOpen();
    const existing = this.users.get(userId);
    const record: UserRecord = { userId, attributes: clone(attributes), createdAt: existing?.createdAt ?? now, updatedAt: now };
    this.users.set(userId, record);
    return clone(record);
  }

  async getUser(userId: string): Promise<UserRecord | undefined> {
    this.assertOpen();
    const user = this.users.get(userId);
    return user === undefined ? undefined : clone(user);
  }

  async deleteUser(userId: string): Promise<UserDeletion> {
    this.assertOpen();
    const profile = this.users.delete(userId);
    let recommendations = 0;
    for (const [recommId, rec] of this.recommendations) {
      if (rec.userId !== userId) continue;
      for (const item of rec.items) this.impressionState.delete(impressionKey(recommId, item.itemId));
      this.recommendations.delete(recommId);
      this.recommendationSeq.delete(recommId);
      recommendations++;
    }
    let events = 0;
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i] as StoredEvent;
      if (e.userId !== userId) continue;
      this.events.splice(i, 1);
      this.eventsById.delete(e.eventId);
      events++;
    }
    return { profile, events, recommendations };
  }

  async getUserHistory(userId: string, options: { limit?: number; types?: readonly EventType[] } = {}): Promise<string[]> {
    this.assertOpen();
    const types = new Set(options.types ?? HISTORY_EVENT_TYPES);
    const limit = pageSize(options.limit);
    const last = new Map<string, { ts: number; seq: number }>();
    for (const e of this.events) {
      if (e.userId !== userId || !types.has(e.type)) continue;
      // Same order as the SQLite store: latest timestamp, then latest arrival.
      const prev = last.get(e.itemId);
      last.set(e.itemId, { ts: Math.max(prev?.ts ?? -Infinity, e.timestamp), seq: Math.max(prev?.seq ?? 0, e.seq) });
    }
    return [...last.entries()]
      .sort((a, b) => b[1].ts - a[1].ts || b[1].seq - a[1].seq)
      .slice(0, limit)
      .map(([id]) => id);
  }

  async getPolicyState(policy: string): Promise<Map<string, PolicyStateEntry>> {
    this.assertOpen();
    const entries = this.policyState.get(policy);
    const out = new Map<string, PolicyStateEntry>();
    if (entries !== undefined) for (const [k, v] of entries) out.set(k, cloneEntry(v));
    return out;
  }

  async putPolicyState(policy: string, entries: Iterable<readonly [string, PolicyStateEntry]>): Promise<void> {
    this.assertOpen();
    let target = this.policyState.get(policy);
    if (target === undefined) {
      target = new Map();
      this.policyState.set(policy, target);
    }
    for (const [key, entry] of entries) target.set(key, cloneEntry(entry));
  }

  async deletePolicyState(policy: string): Promise<void> {
    this.assertOpen();
    this.policyState.delete(policy);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private impression(recommId: string, itemId: string): ImpressionRecord | undefined {
    const rec = this.recommendations.get(recommId);
    const state = this.impressionState.get(impressionKey(recommId, itemId));
    const item = rec?.items.find((i) => i.itemId === itemId);
    if (rec === undefined || state === undefined || item === undefined) return undefined;
    return impressionOf(rec, item, state.trial, state.reward);
  }

  private assertOpen(): void {
    if (this.closed) throw new TastemakerError('DISPOSED', 'MemoryStore is closed');
  }
}

function impressionKey(recommId: string, itemId: string): string {
  // JSON keeps the pair unambiguous whatever characters the ids contain.
  return JSON.stringify([recommId, itemId]);
}

/** UTF-16 code-unit order; paging only needs an order that is stable within one store. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function cloneEntry(entry: PolicyStateEntry): PolicyStateEntry {
  return { json: entry.json === undefined ? undefined : clone(entry.json), blob: entry.blob?.slice() };
}
