import { Hono } from 'hono';
import { z } from 'zod';
import type { EventType, ItemRecord, PolicyCandidate } from '@tastemaker/core/edge';
import { ApiError } from '../../api-error.js';
import { requireKey } from '../../auth.js';
import type { CandidateCache, CandidateEntry } from '../../candidate-cache.js';
import type { ServerContext } from '../../context.js';
import type { RecommendationSource, SourceItem } from '../../recommendation-source.js';
import { whenReady } from '../../readiness.js';
import { explanationSchema, idSchema, jsonObjectSchema } from '../../schemas.js';
import { jsonBody, queryParams } from '../../validation.js';

const MAX_LIST = 1000;
/** Events that put an item in an RL state's skipped window (DQN). */
const NEGATIVE_EVENT_TYPES: readonly EventType[] = ['skip', 'dislike'];
const scalar = z.union([z.string(), z.number(), z.boolean()]);

export const recommendRequestSchema = z
  .object({
    userId: idSchema.optional().meta({ description: 'The user; their stored recent history is used as live context.' }),
    history: z.array(idSchema).max(MAX_LIST).optional().meta({ description: 'Item ids the user just engaged with, oldest first. Replaces the stored history.' }),
    k: z.number().int().min(1).default(10).meta({ description: 'How many items to return.' }),
    context: jsonObjectSchema.optional().meta({ description: 'Free-form context logged with the recommendation (page, device…).' }),
    filters: z
      .record(z.string(), z.union([scalar, z.array(scalar).max(100)]))
      .optional()
      .meta({ description: 'Catalogue attribute filters: an item passes when each attribute equals the value (or one of a list).' }),
    exclude: z.array(idSchema).max(MAX_LIST).optional().meta({ description: 'Item ids never to return.' }),
    excludeSeen: z.boolean().default(true).meta({ description: 'Leave out items already in the user’s history.' }),
    policy: z.string().min(1).max(100).optional().meta({ description: 'Run this configured policy instead of the assigned one.' }),
  })
  .refine((r) => r.userId !== undefined || r.history !== undefined, { message: 'Give a userId, a history, or both', path: ['userId'] });

const list = z.preprocess((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]), z.array(idSchema).max(MAX_LIST).optional());

export const recommendQuerySchema = z
  .object({
    userId: idSchema.optional(),
    history: list.meta({ description: 'Repeat the parameter for each item, oldest first.' }),
    k: z.coerce.number().int().min(1).default(10),
    exclude: list.meta({ description: 'Repeat the parameter for each item.' }),
    excludeSeen: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    policy: z.string().min(1).max(100).optional(),
  })
  .refine((r) => r.userId !== undefined || r.history !== undefined, { message: 'Give a userId, a history, or both', path: ['userId'] });

export const recommendResponseSchema = z.object({
  recommId: z.string().meta({ description: 'Send it back with events on these items so they are credited to this recommendation.' }),
  model: z.string(),
  policy: z.string(),
  items: z.array(
    z.object({
      itemId: z.string(),
      score: z.number().meta({ description: 'The model’s score.' }),
      propensity: z.number().meta({ description: 'Probability the policy placed this item here given the items before it.' }),
      position: z.number().int().meta({ description: '0-based.' }),
      explanation: explanationSchema.optional(),
    }),
  ),
});

type RecommendInput = {
  userId?: string | undefined;
  history?: string[] | undefined;
  k: number;
  context?: Record<string, unknown> | undefined;
  filters?: Record<string, z.infer<typeof scalar> | z.infer<typeof scalar>[]> | undefined;
  exclude?: string[] | undefined;
  excludeSeen: boolean;
  policy?: string | undefined;
};

export function recommendRoutes(ctx: ServerContext) {
  const auth = requireKey(ctx.keys, 'publishable');
  return new Hono()
    .post('/', auth, jsonBody(recommendRequestSchema, { maxBytes: ctx.limits.bodyBytes }), async (c) => c.json(await recommend(ctx, c.req.valid('json')), 200))
    .get('/', auth, queryParams(recommendQuerySchema), async (c) => c.json(await recommend(ctx, c.req.valid('query')), 200));
}

export type RecommendResponse = z.infer<typeof recommendResponseSchema>;

async function recommend(ctx: ServerContext, input: RecommendInput): Promise<RecommendResponse> {
  if (input.k > ctx.limits.maxK) throw new ApiError(400, 'INVALID_ARGUMENT', `k: at most ${ctx.limits.maxK}`);
  await whenReady(ctx);
  const policyName = input.policy ?? ctx.assignPolicy?.({ userId: input.userId }) ?? ctx.defaultPolicy;
  const policy = ctx.policies.get(policyName);
  if (policy === undefined) {
    throw new ApiError(400, 'INVALID_ARGUMENT', `policy: unknown policy ${JSON.stringify(policyName)}; configured: ${[...ctx.policies.keys()].join(', ')}`);
  }

  const exploring = policy.kind !== 'greedy';
  let pool = exploring ? Math.max(input.k, ctx.limits.candidatePool) : input.k;
  // Filters drop candidates after retrieval, so ask for more to still fill k.
  if (input.filters !== undefined) pool = Math.min(pool * 4, ctx.limits.maxK * 10);

  return ctx.slot.use(async (source) => {
    const candidates = await candidatesFor(ctx, source, input, pool);
    const { history } = candidates;
    let items = candidates.items;
    if (input.filters !== undefined) {
      const catalogue = await ctx.store.getItems(items.map((i) => i.itemId));
      const filters = input.filters;
      items = items.filter((i) => matches(catalogue.get(i.itemId), filters));
    }
    let userFeatures: Float32Array | undefined;
    let values: ReadonlyMap<string, number> | undefined;
    // An RL policy builds its own state from the user and history; it is logged so feedback brings it back.
    if (policy.prepare !== undefined) {
      // DQN's state also holds the user's recent negative feedback, read fresh (skips do not enter the cached history)
      const skipped =
        input.userId !== undefined && input.history === undefined
          ? (await ctx.store.getUserHistory(input.userId, { limit: ctx.limits.historyLength, types: NEGATIVE_EVENT_TYPES })).reverse()
          : [];
      const prepared = await policy.prepare({ userId: input.userId, history, skipped, candidates: items.map((i) => i.itemId) });
      userFeatures = prepared.userFeatures;
      values = prepared.values;
    } else if (policy.stateFeatures !== undefined) userFeatures = policy.stateFeatures({ userId: input.userId, history });
    else if (policy.usesFeatures) {
      const cached = candidates.entry;
      userFeatures = cached !== undefined ? (cached.userFeatures ??= source.userFeatures?.({ userId: input.userId, history })) : source.userFeatures?.({ userId: input.userId, history });
    }
    // Items are candidates as they are (id and score) unless the policy reads features.
    const policyCandidates: readonly PolicyCandidate[] = policy.usesFeatures
      ? items.map((i) => ({ itemId: i.itemId, score: i.score, features: source.itemFeatures?.(i.itemId) }))
      : items;
    const chosen = policy.select(policyCandidates, input.k, { userFeatures, values, distinct: candidates.entry?.distinct });
    const recommId = ctx.newId();
    await ctx.store.logRecommendation({
      recommId,
      userId: input.userId,
      model: candidates.model,
      policy: policyName,
      createdAt: ctx.clock.now(),
      context: input.context,
      userFeatures,
      // The policy's items are fresh objects of exactly the slate's (and the response's) fields; the
      // store copies what it keeps, so one list serves both.
      items: chosen,
    });
    ctx.metrics.countRecommendation(policyName, candidates.model);
    return { recommId, model: candidates.model, policy: policyName, items: withExplanations(chosen, items) };
  });
}

interface Candidates {
  /** The history the model saw, oldest first. */
  history: readonly string[];
  items: readonly SourceItem[];
  model: string;
  /** The cache entry these came from or went into, when the cache applies. */
  entry: CandidateEntry | undefined;
}

/**
 * The model's candidates for the request: from the per-user cache when the request is a plain
 * "recommend for this user" (no history or exclusions of its own), else computed.
 */
async function candidatesFor(ctx: ServerContext, source: RecommendationSource, input: RecommendInput, pool: number): Promise<Candidates> {
  const cacheable = ctx.candidates !== undefined && input.userId !== undefined && input.history === undefined && (input.exclude === undefined || input.exclude.length === 0);
  const ticket = cacheable ? (ctx.candidates as CandidateCache).begin(source, input.userId as string, `${pool}:${input.excludeSeen ? 1 : 0}`) : undefined;
  ctx.metrics.countCandidates?.(ticket === undefined ? 'bypass' : ticket.entry !== undefined ? 'hit' : 'miss');
  // Named fields rather than a spread of the entry: entries gain userFeatures later, and spreading
  // objects of several shapes fell to V8's slow path (~4 µs of a cached recommendation).
  const hit = ticket?.entry;
  if (hit !== undefined) return { history: hit.history, items: hit.items, model: hit.model, entry: hit };
  try {
    const stored = input.userId === undefined || input.history !== undefined ? [] : await ctx.store.getUserHistory(input.userId, { limit: ctx.limits.historyLength });
    // The store answers most recent first; models read histories oldest first.
    const history = input.history ?? stored.reverse();
    const hidden = await ctx.store.hiddenItemIds();
    const exclude = [...new Set([...(input.exclude ?? []), ...hidden, ...(input.excludeSeen ? history : [])])];
    const answer = await source.recommend({
      ...(input.userId !== undefined ? { userId: input.userId } : {}),
      ...(history.length > 0 ? { history } : {}),
      k: pool,
      exclude,
      excludeSeen: input.excludeSeen,
    });
    if (ticket === undefined) return { history, items: answer.items, model: answer.model, entry: undefined };
    const entry: CandidateEntry = { history, items: answer.items, model: answer.model, distinct: distinctIds(answer.items) };
    ticket.store(entry);
    return { ...entry, entry };
  } catch (error) {
    ticket?.drop();
    throw error;
  }
}

function distinctIds(items: readonly SourceItem[]): boolean {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.itemId)) return false;
    seen.add(item.itemId);
  }
  return true;
}

/** The policy's slate with each item's explanation from the candidates, when the model gave one. */
function withExplanations<T extends { itemId: string }>(chosen: readonly T[], candidates: readonly SourceItem[]): (T & Pick<SourceItem, 'explanation'>)[] {
  let byId: Map<string, NonNullable<SourceItem['explanation']>> | undefined;
  for (const c of candidates) if (c.explanation !== undefined) (byId ??= new Map()).set(c.itemId, c.explanation);
  if (byId === undefined) return [...chosen];
  const found = byId;
  return chosen.map((c) => {
    const explanation = found.get(c.itemId);
    return explanation === undefined ? c : { ...c, explanation };
  });
}

function matches(item: ItemRecord | undefined, filters: NonNullable<RecommendInput['filters']>): boolean {
  if (item === undefined) return false;
  for (const [key, wanted] of Object.entries(filters)) {
    if (!Object.hasOwn(item.attributes, key)) return false;
    const have = item.attributes[key];
    const options = Array.isArray(wanted) ? wanted : [wanted];
    const values = Array.isArray(have) ? have : [have];
    if (!options.some((o) => values.includes(o))) return false;
  }
  return true;
}
