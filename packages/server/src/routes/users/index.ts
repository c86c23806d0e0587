import { Hono } from 'hono';
import { z } from 'zod';
import { ApiError } from '../../api-error.js';
import { requireKey } from '../../auth.js';
import type { ServerContext } from '../../context.js';
import { idSchema, jsonObjectSchema } from '../../schemas.js';
import { jsonBody, pathParams, queryParams } from '../../validation.js';

const userParam = z.object({ userId: idSchema });

export const userWriteSchema = z.object({ attributes: jsonObjectSchema.default({}) });

export const userQuerySchema = z.object({ historyLimit: z.coerce.number().int().min(1).max(1000).default(50) });

export const userSchema = z.object({
  userId: z.string(),
  attributes: z.record(z.string(), z.unknown()),
  history: z.array(z.string()).meta({ description: 'Items the user engaged with (click, like, purchase, rating, dwell), most recent first.' }),
  createdAt: z.number().optional(),
  updatedAt: z.number().optional(),
});

export type UserResponse = z.infer<typeof userSchema>;

export function usersRoutes(ctx: ServerContext) {
  return new Hono()
    .use(requireKey(ctx.keys, 'secret'))
    .get('/:userId', pathParams(userParam), queryParams(userQuerySchema), async (c) => {
      const { userId } = c.req.valid('param');
      const [profile, history] = await Promise.all([
        ctx.store.getUser(userId),
        ctx.store.getUserHistory(userId, { limit: c.req.valid('query').historyLimit }),
      ]);
      if (profile === undefined && history.length === 0 && (await ctx.store.listEvents({ userId, limit: 1 })).length === 0) {
        throw new ApiError(404, 'NOT_FOUND', `Unknown user ${JSON.stringify(userId)}`);
      }
      return c.json({ userId, attributes: {}, ...profile, history } satisfies UserResponse, 200);
    })
    .put('/:userId', pathParams(userParam), jsonBody(userWriteSchema, { maxBytes: ctx.limits.bodyBytes }), async (c) => {
      const { userId } = c.req.valid('param');
      const profile = await ctx.store.putUser(userId, c.req.valid('json').attributes, ctx.clock.now());
      const history = await ctx.store.getUserHistory(userId, { limit: 50 });
      return c.json({ ...profile, history } satisfies UserResponse, 200);
    })
    .delete('/:userId', pathParams(userParam), async (c) => {
      const { userId } = c.req.valid('param');
      let deleted;
      try {
        deleted = await ctx.store.deleteUser(userId);
      } finally {
        ctx.candidates?.invalidateUser(userId);
      }
      if (!deleted.profile && deleted.events === 0 && deleted.recommendations === 0) throw new ApiError(404, 'NOT_FOUND', `Unknown user ${JSON.stringify(userId)}`);
      return c.json({ deleted }, 200);
    });
}
