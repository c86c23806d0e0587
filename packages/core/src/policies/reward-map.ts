import { z } from 'zod';
import { TastemakerError } from '../errors/index.js';
import type { EventType } from '../store/types.js';

const rewardValue = z.number().finite().nullable();

const dwellRule = z.strictObject({
  /** Reward for dwell ≥ seconds, the highest threshold reached wins. */
  thresholds: z.array(z.strictObject({ seconds: z.number().finite().nonnegative(), reward: z.number().finite() })).min(1),
  /** Reward below every threshold. Default 0. */
  below: z.number().finite().default(0),
});

const ratingRule = z.union([
  /** 1 at or above the threshold, else 0 */
  z.strictObject({ threshold: z.number().finite() }),
  /** linear from min (0) to max (1), clamped */
  z.strictObject({ min: z.number().finite(), max: z.number().finite() }).refine((r) => r.max > r.min, 'max must exceed min'),
]);

export const rewardMapSchema = z.strictObject({
  impression: rewardValue.default(null),
  click: rewardValue.default(1),
  skip: rewardValue.default(0),
  like: rewardValue.default(1),
  dislike: rewardValue.default(0),
  purchase: rewardValue.default(1),
  dwell: z.union([rewardValue, dwellRule]).default({ thresholds: [{ seconds: 10, reward: 0.5 }, { seconds: 30, reward: 1 }], below: 0 }),
  rating: z.union([ratingRule, z.null()]).default({ threshold: 4 }),
  /** A fixed reward for custom events, or 'value' to take the event's value. */
  custom: z.union([rewardValue, z.literal('value')]).default(null),
});

/**
 * How events become rewards. A number is that event type's reward; null means the type carries no
 * reward (it still counts its impression as a trial). Defaults: click, like and purchase 1; skip and
 * dislike 0 (set them negative to punish; Thompson clamps into [0, 1]); dwell 0.5 from 10 s and 1
 * from 30 s (value in seconds); rating 1 from 4 up (value on the rating scale); impression and custom
 * no reward.
 */
export type RewardMapConfig = z.input<typeof rewardMapSchema>;
export type RewardMapResolved = z.output<typeof rewardMapSchema>;

export type RewardFunction = (event: { type: EventType; value?: number | undefined }) => number | null;

export function createRewardMap(config: RewardMapConfig = {}): RewardFunction {
  const parsed = rewardMapSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(root)';
    throw new TastemakerError(
      'INVALID_CONFIG',
      `Invalid reward map at ${where}: ${issue?.message ?? 'invalid'}. Valid keys: ${Object.keys(rewardMapSchema.shape).join(', ')}.`,
      { option: 'rewards', path: issue?.path },
    );
  }
  const map = parsed.data;
  return (event) => {
    const value = typeof event.value === 'number' && Number.isFinite(event.value) ? event.value : undefined;
    switch (event.type) {
      case 'dwell': {
        const rule = map.dwell;
        if (rule === null || typeof rule === 'number') return rule;
        if (value === undefined) return null;
        let reward = rule.below;
        let reached = -Infinity;
        for (const t of rule.thresholds) {
          if (value >= t.seconds && t.seconds >= reached) {
            reached = t.seconds;
            reward = t.reward;
          }
        }
        return reward;
      }
      case 'rating': {
        const rule = map.rating;
        if (rule === null || value === undefined) return null;
        if ('threshold' in rule) return value >= rule.threshold ? 1 : 0;
        return Math.min(1, Math.max(0, (value - rule.min) / (rule.max - rule.min)));
      }
      case 'custom':
        return map.custom === 'value' ? (value ?? null) : map.custom;
      default:
        return map[event.type];
    }
  };
}
