import { z } from 'zod';

/** Longest id accepted anywhere (event, user, item, recommendation ids). */
export const MAX_ID_LENGTH = 256;
/** Deepest nesting accepted in free-form JSON (context, attributes); deeper values could overflow a recursive serialiser. */
export const MAX_JSON_DEPTH = 16;
/** Most keys and array elements, all levels together, in one free-form JSON value. */
export const MAX_JSON_NODES = 10_000;

/** In a `u` regex a surrogate pair is one code point, so only a lone surrogate matches the class. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** String.prototype.isWellFormed, which the ES2023 lib this project targets does not declare. */
export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/**
 * An opaque id: any non-empty, well-formed Unicode string. Lone surrogates are refused because they
 * cannot survive UTF-8 storage: two different such ids would collapse into one (U+FFFD) and make
 * idempotency lie.
 */
export const idSchema = z
  .string()
  .min(1)
  .max(MAX_ID_LENGTH)
  .refine(isWellFormed, 'must be well-formed Unicode (no lone surrogates)');

/**
 * Free-form JSON object (context, attributes), bounded in depth and size, with well-formed strings.
 * Not z.record: it rebuilds the object by assignment, which drops a "__proto__" key (and swaps the
 * copy's prototype); the parsed JSON is already plain data, so it is checked and passed through as is.
 */
export const jsonObjectSchema = z
  .custom<Record<string, unknown>>((value) => typeof value === 'object' && value !== null && !Array.isArray(value), 'must be a JSON object')
  .superRefine((value, ctx) => {
    const problem = checkJson(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ type: 'object', additionalProperties: true });

/** Iterative (no recursion, so no stack to overflow) check of depth, size and strings. */
function checkJson(root: unknown): string | undefined {
  const stack: { value: unknown; depth: number }[] = [{ value: root, depth: 1 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value, depth } = stack.pop() as { value: unknown; depth: number };
    if (++nodes > MAX_JSON_NODES) return `has more than ${MAX_JSON_NODES} values`;
    if (typeof value === 'string') {
      if (!isWellFormed(value)) return 'contains a string with a lone surrogate';
      continue;
    }
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return 'contains a non-finite number';
      continue;
    }
    if (value === null || typeof value === 'boolean') continue;
    if (typeof value !== 'object') return `contains a ${typeof value}, which JSON cannot carry`;
    if (depth > MAX_JSON_DEPTH) return `is nested deeper than ${MAX_JSON_DEPTH} levels`;
    if (Array.isArray(value)) {
      for (const v of value) stack.push({ value: v, depth: depth + 1 });
    } else {
      for (const [k, v] of Object.entries(value)) {
        if (!isWellFormed(k)) return 'contains a key with a lone surrogate';
        stack.push({ value: v, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

/** Why an item was recommended: a knowledge-graph path from an item in the user's history. */
export const explanationSchema = z
  .object({
    text: z.string().meta({ description: 'Readable form, e.g. "same genre (Drama) as Heat (1995)".' }),
    relation: z.string().meta({ description: 'Relation of the recommended item to the shared entity, e.g. "genre".' }),
    entity: z.string().meta({ description: 'The shared entity, e.g. "Drama".' }),
    viaItem: z.string().meta({ description: 'Id of the history item at the other end of the path.' }),
  })
  .meta({ description: 'Present when the model bundle has a knowledge graph and a path from the user’s history to this item exists.' });

export const errorSchema = z.object({
  error: z.object({
    code: z.string().meta({ description: 'Stable machine-readable code, e.g. INVALID_ARGUMENT, UNAUTHENTICATED, NOT_FOUND' }),
    message: z.string(),
  }),
});
