// Helpers the Store implementations share; internal to core.
import type { ImpressionRecord, JsonObject, RecommendationRecord, SlateItem } from './types.js';

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

export function pageSize(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE;
  if (!Number.isFinite(limit)) return MAX_PAGE;
  return Math.max(1, Math.min(MAX_PAGE, Math.floor(limit)));
}

/** Better of two rewards; null means none seen yet. */
export function bestReward(current: number | null, next: number | null): number | null {
  if (next === null) return current;
  if (current === null) return next;
  return Math.max(current, next);
}

/** Merges an attribute patch: a null value removes the key. */
export function mergeAttributes(base: JsonObject, patch: JsonObject | undefined): JsonObject {
  if (patch === undefined) return { ...base };
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    // defineProperty, not assignment: a key named "__proto__" must stay data, not swap the prototype.
    else Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A shown item of a logged recommendation as its impression, with the feedback counted so far. */
export function impressionOf(rec: RecommendationRecord, item: SlateItem, trial: boolean, reward: number | null): ImpressionRecord {
  return { ...item, recommId: rec.recommId, userId: rec.userId, model: rec.model, policy: rec.policy, createdAt: rec.createdAt, trial, reward };
}
