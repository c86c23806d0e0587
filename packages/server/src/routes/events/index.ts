import { Hono } from 'hono';
import { z } from 'zod';
import { EVENT_TYPES, HISTORY_EVENT_TYPES, type EventRecord, type LearnOutcome } from '@tastemaker/core/edge';
import { ApiError } from '../../api-error.js';
import { requireKey } from '../../auth.js';
import type { ServerContext } from '../../context.js';
import { whenReady } from '../../readiness.js';
import { idSchema, jsonObjectSchema } from '../../schemas.js';
import { describeIssues, jsonBody } from '../../validation.js';

/** Optional fields also accept null, which many clients send for "absent". */
const optional = <S extends z.ZodType>(schema: S) => schema.nullish().transform((v) => v ?? undefined);

export const eventSchema = z.object({
  eventId: idSchema.meta({ description: 'Client-chosen unique id; resending an event with the same id is a no-op.' }),
  type: z.enum(EVENT_TYPES),
  userId: idSchema,
  itemId: idSchema,
  recommId: optional(idSchema).meta({ description: 'The recommendation the item was shown in; credits the event to its policy.' }),
  position: optional(z.number().int().min(0).max(100_000)),
  value: optional(z.number().finite()).meta({ description: 'rating value, dwell seconds, or a custom amount' }),
  timestamp: optional(
    z.union([
      z.number().finite().min(0).meta({ description: 'ms since the epoch' }),
      z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
    ]),
  ),
  context: optional(jsonObjectSchema),
});

/** Elements are validated one by one, so one bad event is a `rejected` entry, not a failed batch. */
export const eventsRequestSchema = z.object({ events: z.array(z.unknown()).min(1) });

/** What eventsRequestSchema accepts, as documented in /openapi.json. */
export const eventsRequestDocSchema = z.object({
  events: z.array(eventSchema).min(1).meta({ description: 'Invalid elements are rejected one by one; the rest are stored.' }),
});

export const eventsResponseSchema = z.object({
  accepted: z.number().int(),
  duplicates: z.number().int(),
  rejected: z.array(z.object({ index: z.number().int(), error: z.object({ code: z.string(), message: z.string() }) })),
});

export type EventsResponse = z.infer<typeof eventsResponseSchema>;

/** Event types that enter a user's stored history (what recommend reads), so they invalidate cached candidates. */
const HISTORY_TYPES: ReadonlySet<string> = new Set(HISTORY_EVENT_TYPES);

export function eventsRoutes(ctx: ServerContext) {
  return new Hono().post(
    '/',
    requireKey(ctx.keys, 'publishable', { allowQueryKey: true }),
    jsonBody(eventsRequestSchema, { maxBytes: ctx.limits.bodyBytes, allowText: true }),
    async (c) => c.json(await ingest(ctx, c.req.valid('json').events), 200),
  );
}

async function ingest(ctx: ServerContext, raw: unknown[]): Promise<EventsResponse> {
  if (raw.length > ctx.limits.eventsPerRequest) {
    throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `events: at most ${ctx.limits.eventsPerRequest} per request`);
  }
  await whenReady(ctx);
  const now = ctx.clock.now();
  const rejected: EventsResponse['rejected'] = [];
  const valid: { index: number; event: EventRecord }[] = [];
  raw.forEach((value, index) => {
    const parsed = eventSchema.safeParse(value);
    if (!parsed.success) {
      rejected.push({ index, error: { code: 'INVALID_ARGUMENT', message: describeIssues(parsed.error) } });
      return;
    }
    const e = parsed.data;
    valid.push({
      index,
      event: {
        eventId: e.eventId,
        type: e.type,
        userId: e.userId,
        itemId: e.itemId,
        recommId: e.recommId,
        position: e.position,
        value: e.value,
        timestamp: e.timestamp ?? now,
        receivedAt: now,
        context: e.context,
      },
    });
  });

  // An item is known when the serving model has it or the catalogue lists it (hidden items included:
  // they were shown before being hidden, and their feedback is still true).
  const source = ctx.slot.source;
  const notInModel = [...new Set(valid.filter((v) => !source.hasItem(v.event.itemId)).map((v) => v.event.itemId))];
  const catalogued = notInModel.length === 0 ? new Map() : await ctx.store.getItems(notInModel);
  const known = valid.filter((v) => {
    if (source.hasItem(v.event.itemId) || catalogued.has(v.event.itemId)) return true;
    rejected.push({ index: v.index, error: { code: 'NOT_FOUND', message: `Unknown item ${JSON.stringify(v.event.itemId)}` } });
    return false;
  });
  rejected.sort((a, b) => a.index - b.index);

  // Storing, attribution and the policy state they change commit together: one sync to disk per
  // request instead of three. The batch resolves after its commit, so the answer below still only
  // acknowledges events that are durable.
  const store = ctx.store;
  const batch = store.writeBatch === undefined ? <T>(fn: () => Promise<T>) => fn() : store.writeBatch.bind(store);
  const { statuses, accepted, outcomes } = await batch(async () => {
    const statuses = await store.appendEvents(known.map((k) => k.event));
    const accepted = known.filter((_, i) => statuses[i] === 'accepted').map((k) => k.event);
    // Stored: from now on a fresh history read sees these, so cached candidates of their users are stale.
    if (ctx.candidates !== undefined) for (const e of accepted) if (HISTORY_TYPES.has(e.type)) ctx.candidates.invalidateUser(e.userId);
    // The events are stored: from here a failure must not fail the request, or the client would retry
    // events that are already durable. It costs only their lesson to the policies, and is logged.
    let outcomes: (LearnOutcome | undefined)[] | undefined;
    try {
      outcomes = await ctx.learner.learn(accepted);
    } catch (error) {
      ctx.metrics.countLearnFailure();
      ctx.logger.error('events stored but policies not updated', { error, events: accepted.length });
    }
    return { statuses, accepted, outcomes };
  });
  const duplicates = statuses.length - accepted.length;

  for (const e of accepted) ctx.metrics.countEvents(e.type, 'accepted');
  if (duplicates > 0) for (const [i, k] of known.entries()) if (statuses[i] === 'duplicate') ctx.metrics.countEvents(k.event.type, 'duplicate');
  for (const r of rejected) {
    const type = (raw[r.index] as { type?: unknown } | null)?.type;
    ctx.metrics.countEvents(typeof type === 'string' && (EVENT_TYPES as readonly string[]).includes(type) ? type : 'invalid', 'rejected');
  }

  outcomes?.forEach((o, i) => {
    if (o?.policy === undefined) return;
    const click = accepted[i]?.type === 'click' && o.reward > 0 ? 1 : 0;
    ctx.metrics.countFeedback(o.policy, o.trial, click);
  });
  return { accepted: accepted.length, duplicates, rejected };
}
