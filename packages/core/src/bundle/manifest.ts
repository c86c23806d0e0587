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
 *   kg.json                 (`kg` section) item ↔ entity knowledge graph for KG candidates and explanations
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
 *            history    int64 [batch, n]  optional (history rankers such as kg-song), n fixed:
 *                       the user's n most recent item rows, oldest first (stored training history,
 *                       then the request's own); out of range = padding, core pads at the end
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

/**
 * The item ↔ entity knowledge graph the model was trained with (`kg.json`, format in
 * core/src/kg/item-graph.ts): relation and entity names and each item's (relation, entity) edges.
 * The counts are checked against the file on load.
 */
export const kgSectionSchema = z.object({
  file: z.string().min(1),
  relations: z.number().int().nonnegative(),
  entities: z.number().int().nonnegative(),
  edges: z.number().int().nonnegative(),
  /** where the graph came from: "dataset" (e.g. the Last.FM KG) or "item-metadata" (genres, tags, years) */
  source: z.string().optional(),
});
export type KgSection = z.infer<typeof kgSectionSchema>;

/**
 * Bundles of RL policies.
 * - `ddpg` (DRR): the model section's user graph is the actor with its state module (user_index +
 *   the last `stateSize` positive items → action, scored against items.f32), and `weights` holds
 *   the actor and critic (and user rows) in the DRR weights format (core/src/rl/drr-weights.ts)
 *   that core's online DDPG updates start from.
 * - `dqn`: `graph` names the Q-network (DQN_GRAPH_INPUTS in core/src/rl/dqn-policy.ts: liked and
 *   skipped item sequences, right-padded, with lengths, the candidates and the belief term φ₀ →
 *   q [batch, candidates]); `weights` holds the DQN side data (core/src/rl/dqn-weights.ts: each
 *   known user's liked/skipped windows and the rating model φ₀ is folded in from). The model
 *   section is the retrieval stage (the DQN's MF embeddings), the Q-network ranks its candidates.
 */
export const RL_ALGORITHMS = ['ddpg', 'dqn'] as const;
export const rlSectionSchema = z.object({
  /** model id, e.g. "drr-ave", "dqn" */
  kind: z.string().min(1),
  algorithm: z.enum(RL_ALGORITHMS).default('ddpg'),
  /** key in `graphs` of the actor graph (ddpg) or the Q-network (dqn) */
  graph: z.string().min(1),
  /** file with the actor/critic weights (ddpg) or the DQN side data (dqn) */
  weights: z.string().min(1),
  /** items in a state: the last N positive items (and, for dqn, the last N skipped items), oldest first */
  stateSize: z.number().int().positive(),
  params: z.record(z.string(), z.unknown()).default({}),
});
export type RlSection = z.infer<typeof rlSectionSchema>;

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
  /** bundles trained with a knowledge graph: its item ↔ entity edges, for KG candidates and explanations */
  kg: kgSectionSchema.optional(),
  /** RL bundles only: the actor/critic weights served and updated online by core's DRR policy */
  rl: rlSectionSchema.optional(),
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
