import { ApiError } from './api-error.js';
import type { ServerContext } from './context.js';

/** Waits for stored policy state; a store that failed to load it makes the route answer 503. */
export async function whenReady(ctx: ServerContext): Promise<void> {
  try {
    await ctx.ready;
  } catch {
    throw new ApiError(503, 'NOT_READY', 'The server could not load its policy state; see its log');
  }
}
