import { Hono } from 'hono';
import { z } from 'zod';
import { isTastemakerError } from '@tastemaker/core/edge';
import { ApiError, STATUS_BY_CORE_CODE, type ApiErrorCode } from '../../api-error.js';
import { requireKey } from '../../auth.js';
import type { ModelDescriptor, ServerContext } from '../../context.js';
import { pathParams } from '../../validation.js';

const modelParam = z.object({ modelId: z.string().min(1).max(1000) });

export const modelListSchema = z.object({
  active: z.string(),
  models: z.array(z.object({ id: z.string(), active: z.boolean() }).catchall(z.unknown())),
});

export function modelsRoutes(ctx: ServerContext) {
  const describeActive = (): ModelDescriptor & { active: true } => ({ ...ctx.slot.source.info?.(), id: ctx.slot.id, active: true });
  return new Hono()
    .use(requireKey(ctx.keys, 'secret'))
    .get('/', async (c) => {
      const listed = (await ctx.models?.list()) ?? [];
      const models = listed.filter((m) => m.id !== ctx.slot.id).map((m) => ({ ...m, active: false }));
      return c.json({ active: ctx.slot.id, models: [describeActive(), ...models] }, 200);
    })
    .post('/:modelId/activate', pathParams(modelParam), async (c) => {
      const { modelId } = c.req.valid('param');
      const catalog = ctx.models;
      const listed = (await catalog?.list()) ?? [];
      if (catalog === undefined || !listed.some((m) => m.id === modelId)) {
        throw new ApiError(404, 'NOT_FOUND', `Unknown model ${JSON.stringify(modelId)}; GET /v1/models lists them`);
      }
      const previous = ctx.slot.id;
      try {
        await ctx.slot.swap(modelId, () => catalog.load(modelId));
      } catch (error) {
        ctx.logger.warn('model refused; the previous model keeps serving', { model: modelId, serving: ctx.slot.id, error });
        throw refusal(modelId, error);
      }
      // Entries are tied to the model that computed them and could not be hit again; free them now.
      ctx.candidates?.clear();
      ctx.logger.info('model activated', { model: modelId, previous });
      return c.json({ active: ctx.slot.id, previous, model: describeActive() }, 200);
    });
}

/** A model that cannot load is the caller's problem (422), named with the reason core gave. */
function refusal(modelId: string, error: unknown): ApiError {
  if (isTastemakerError(error)) {
    const status = STATUS_BY_CORE_CODE[error.code];
    const code: ApiErrorCode = status === 500 ? 'BUNDLE_INVALID' : error.code;
    return new ApiError(status === 500 ? 422 : status, code, `Model ${JSON.stringify(modelId)} refused: ${error.message}`);
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new ApiError(422, 'BUNDLE_INVALID', `Model ${JSON.stringify(modelId)} refused: ${reason}`);
}
