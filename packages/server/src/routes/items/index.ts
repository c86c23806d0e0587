import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { ItemRecord } from '@tastemaker/core/edge';
import { ApiError } from '../../api-error.js';
import { requireKey } from '../../auth.js';
import type { ServerContext } from '../../context.js';
import { idSchema, jsonObjectSchema } from '../../schemas.js';
import { jsonBody, pathParams, queryParams } from '../../validation.js';

const MAX_BATCH = 1000;

export const itemWriteSchema = z.object({
  attributes: jsonObjectSchema.optional().meta({ description: 'Free-form attributes (title, genres…), usable in recommend filters.' }),
  hidden: z.boolean().optional().meta({ description: 'Hidden items are never recommended; events on them are still accepted.' }),
});

export const itemPatchSchema = z.object({
  attributes: jsonObjectSchema.optional().meta({ description: 'Merged into the stored attributes; a key set to null is removed.' }),
  hidden: z.boolean().optional(),
});

export const itemsBatchSchema = z.object({
  items: z.array(itemWriteSchema.extend({ itemId: idSchema })).min(1).max(MAX_BATCH),
});

export const itemListQuerySchema = z.object({
  after: idSchema.optional().meta({ description: 'Cursor: the `next` of the previous page.' }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  hidden: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true')),
});

export const itemSchema = z.object({
  itemId: z.string(),
  attributes: z.record(z.string(), z.unknown()),
  hidden: z.boolean(),
  inCatalog: z.boolean().meta({ description: 'Whether the catalogue stores this item (else only the model knows it).' }),
  inModel: z.boolean().meta({ description: 'Whether the serving model can recommend it.' }),
  createdAt: z.number().optional(),
  updatedAt: z.number().optional(),
});

const itemParam = z.object({ itemId: idSchema });

export type ItemResponse = z.infer<typeof itemSchema>;

export function itemsRoutes(ctx: ServerContext) {
  const view = (record: ItemRecord): ItemResponse => ({ ...record, inCatalog: true, inModel: ctx.slot.source.hasItem(record.itemId) });
  // A catalogue write may hide or reveal items, which cached candidates have already filtered: drop
  // them all once the write is done (also when it failed part-way).
  const catalogueWrite: MiddlewareHandler = async (c, next) => {
    try {
      await next();
    } finally {
      if (c.req.method !== 'GET') ctx.candidates?.clear();
    }
  };
  return new Hono()
    .use(requireKey(ctx.keys, 'secret'))
    .use(catalogueWrite)
    .get('/', queryParams(itemListQuerySchema), async (c) => {
      const q = c.req.valid('query');
      const items = await ctx.store.listItems({ limit: q.limit, ...(q.after !== undefined ? { afterId: q.after } : {}), ...(q.hidden !== undefined ? { hidden: q.hidden } : {}) });
      const last = items.at(-1);
      return c.json({ items: items.map(view), next: items.length === q.limit && last !== undefined ? last.itemId : null }, 200);
    })
    .post('/', jsonBody(itemsBatchSchema, { maxBytes: ctx.limits.bodyBytes }), async (c) => {
      const items = await ctx.store.putItems(c.req.valid('json').items, ctx.clock.now());
      return c.json({ items: items.map(view) }, 200);
    })
    .get('/:itemId', pathParams(itemParam), async (c) => {
      const { itemId } = c.req.valid('param');
      const record = await ctx.store.getItem(itemId);
      if (record !== undefined) return c.json(view(record), 200);
      if (!ctx.slot.source.hasItem(itemId)) throw notFound(itemId);
      return c.json({ itemId, attributes: {}, hidden: false, inCatalog: false, inModel: true } satisfies ItemResponse, 200);
    })
    .put('/:itemId', pathParams(itemParam), jsonBody(itemWriteSchema, { maxBytes: ctx.limits.bodyBytes }), async (c) => {
      const { itemId } = c.req.valid('param');
      const [record] = await ctx.store.putItems([{ itemId, ...c.req.valid('json') }], ctx.clock.now());
      return c.json(view(record as ItemRecord), 200);
    })
    .patch('/:itemId', pathParams(itemParam), jsonBody(itemPatchSchema, { maxBytes: ctx.limits.bodyBytes }), async (c) => {
      const { itemId } = c.req.valid('param');
      const patch = c.req.valid('json');
      const now = ctx.clock.now();
      let record = await ctx.store.patchItem(itemId, patch, now);
      // An item only the model knows can be patched too (typically to hide it): it joins the catalogue.
      if (record === undefined && ctx.slot.source.hasItem(itemId)) {
        await ctx.store.putItems([{ itemId }], now);
        record = await ctx.store.patchItem(itemId, patch, now);
      }
      if (record === undefined) throw notFound(itemId);
      return c.json(view(record), 200);
    })
    .delete('/:itemId', pathParams(itemParam), async (c) => {
      const { itemId } = c.req.valid('param');
      if (!(await ctx.store.deleteItem(itemId))) throw notFound(itemId);
      return c.body(null, 204);
    });
}

function notFound(itemId: string): ApiError {
  return new ApiError(404, 'NOT_FOUND', `Unknown item ${JSON.stringify(itemId)}`);
}
