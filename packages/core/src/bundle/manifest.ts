import { z } from 'zod';

/**
 * The bundle contract between trainer and core (see docs/ARCHITECTURE.md, "Bundle").
 *
 * A bundle is a directory:
 *   manifest.json           this document
 *   <graph>.onnx            one file per graph (user_tower.onnx for `embedding` scoring, scorer.onnx for `scores`)
 *   items.json              external item ids, JSON array of strings, index = row
 *   items.f32               (embedding scoring) item vectors, little-endian float32, row-major [count, dim]
 *   users.json              external user ids, JSON array of strings, index = row
 *   history.indptr.u32      CSR row pointers of each known user's training history, little-endian uint32 [users+1]
 *   history.indices.u32     CSR item indices, little-endian uint32
 *   ranker.onnx             (two-stage bundles, `ranker` section) scores retrieved candidates
 *
 * Graph input conventions shared by every exported user graph (so core stays model-agnostic):
 *   user_index  int64 [batch]            row in users.json; `users.count` (one past the last) means unknown user
 *   history     int64 [batch, length]    item rows; `items.count` is the padding row (contributes nothing)
 * Outputs:
 *   user_tower  -> user_embedding float32 [batch, dim]      (scoring = "embedding"; score = dot(user, item))
 *   scorer      -> scores         float32 [batch, items]    (scoring = "scores")
 */

export const BUNDLE_FORMAT = 'tastemaker-bundle';
export const BUNDLE_FORMAT_VERSION = 1;

export const tensorDtypeSchema = z.enum(['float32', 'int64', 'int32', 'bool']);
export type TensorDtype = z.infer<typeof tensorDtypeSchema>;

/** A dimension is a fixed size or a symbolic name such as "batch". */
export const tensorSpecSchema = z.object({
  name: z.string().min(1),
  dtype: tensorDtypeSchema,
  shape: z.array(z.union([z.number().int().nonnegative(), z.string().min(1)])),
});
export type TensorSpec = z.infer<typeof tensorSpecSchema>;

export const graphSpecSchema = z.object({
  file: z.string().min(1),
  inputs: z.array(tensorSpecSchema).min(1),
  outputs: z.array(tensorSpecSchema).min(1),
  opset: z.number().int().positive(),
});
export type GraphSpec = z.infer<typeof graphSpecSchema>;

export const fileEntrySchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
});

export const scoringSchema = z.enum(['embedding', 'scores']);
export type Scoring = z.infer<typeof scoringSchema>;

/**
 * The second stage of a two-stage bundle: `ranker.onnx` scores (user, candidate) pairs.
 *   inputs   user_index int64 [batch]   row in users.json; out of range = unknown user
 *            item_index int64 [batch]   row in items.json (out of range scores -Infinity)
 *   output   scores     float32 [batch]
 */
export const RANKER_GRAPH = 'ranker';
export const ITEM_INDEX_INPUT = 'item_index';
export const RANKER_OUTPUT = 'scores';

/**
 * Present in a two-stage bundle: the model section (its user graph, items.f32 / scorer) is the
 * retrieval stage, and this ranker re-scores its top `candidates` in one batched run per request.
 */
export const rankerSectionSchema = z.object({
  /** model id of the ranker as given to the trainer, e.g. "neumf" */
  kind: z.string().min(1),
  /** key in `graphs` of the ranker graph */
  graph: z.string().min(1).default(RANKER_GRAPH),
  /** how many retrieved candidates the ranker re-scores per request (at least k are always fetched) */
  candidates: z.number().int().positive(),
  params: z.record(z.string(), z.unknown()).default({}),
  metrics: z.record(z.string(), z.number()).default({}),
  /** tfjs backend that trained the ranker */
  backend: z.string().optional(),
});
export type RankerSection = z.infer<typeof rankerSectionSchema>;

export const manifestSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  formatVersion: z.number().int().positive(),
  createdAt: z.string(),
  trainer: z.object({ name: z.string(), version: z.string() }),
  model: z.object({
    /** model id as given to the trainer, e.g. "two-tower", "bpr", "ease" */
    kind: z.string().min(1),
    scoring: scoringSchema,
    /** similarity the item index uses for `embedding` scoring */
    metric: z.enum(['ip', 'cosine']).default('ip'),
    /** longest history fed to the user graph (most recent items kept); 0 = no limit */
    maxHistory: z.number().int().nonnegative().default(0),
    params: z.record(z.string(), z.unknown()).default({}),
  }),
  graphs: z.record(z.string(), graphSpecSchema),
  items: z.object({
    count: z.number().int().nonnegative(),
    ids: z.string(),
    embeddings: z.string().optional(),
    dim: z.number().int().positive().optional(),
  }),
  users: z.object({
    count: z.number().int().nonnegative(),
    ids: z.string(),
    historyIndptr: z.string(),
    historyIndices: z.string(),
  }),
  dataset: z.object({ name: z.string(), format: z.string().optional() }).optional(),
  metrics: z.record(z.string(), z.number()).default({}),
  backend: z.string().optional(),
  /** two-stage bundles only: the ranking stage behind the model's retrieval */
  ranker: rankerSectionSchema.optional(),
  files: z.record(z.string(), fileEntrySchema),
});
export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestInput = z.input<typeof manifestSchema>;

/** Graph names core knows how to serve, by scoring mode. */
export const USER_GRAPH_BY_SCORING: Record<Scoring, { graph: string; output: string }> = {
  embedding: { graph: 'user_tower', output: 'user_embedding' },
  scores: { graph: 'scorer', output: 'scores' },
};
export const USER_INDEX_INPUT = 'user_index';
export const HISTORY_INPUT = 'history';

/** The manifest's own name inside a bundle; it is the one file not listed in `files`. */
export const MANIFEST_FILE = 'manifest.json';
