import type { Csr, FeatureMatrix } from '../data/dataset.js';
import type { GraphBuilder, Value } from '../onnx/builder.js';
import type { SafeIndex } from '../onnx/layers.js';

/**
 * Model parameters in plain typed arrays, which the ONNX exporter turns into graphs following the
 * bundle contract (packages/core/src/bundle/manifest.ts). All matrices are row-major float32.
 */
export type ExportSpec = PopularityExport | ItemSimilarityExport | MatrixFactorizationExport | TwoTowerExport | RankerExport | UserGraphExport;

/** score(u, i) = scores[i] for everyone. */
export interface PopularityExport {
  kind: 'popularity';
  scores: Float32Array;
}

/** score(u, i) = sum over h in history(u) of matrix[h, i]  (item-KNN, EASE). */
export interface ItemSimilarityExport {
  kind: 'item-similarity';
  nItems: number;
  /** [nItems, nItems] */
  matrix: Float32Array;
}

/**
 * score(u, i) = dot(P[u], Q[i]) + itemBias[i].
 * An unknown user is folded in as the mean of Q over their history.
 */
export interface MatrixFactorizationExport {
  kind: 'matrix-factorization';
  dim: number;
  /** [nUsers, dim] */
  userFactors: Float32Array;
  /** [nItems, dim] */
  itemFactors: Float32Array;
  itemBias?: Float32Array;
}

export interface DenseLayer {
  inputDim: number;
  outputDim: number;
  /** [inputDim, outputDim], so y = x · W + b */
  weight: Float32Array;
  bias: Float32Array;
  activation: 'relu' | 'linear' | 'tanh';
}

/**
 * User tower: x = concat(userEmbedding[u] (zeros if unknown), mean(historyEmbedding[h] for h in history)
 * (zeros if empty), userFeatures[u] (zeros if unknown or absent)); then the dense layers in order;
 * then L2-normalised if `l2Normalize`. Score = dot(userVector, itemVectors[i]).
 */
export interface TwoTowerExport {
  kind: 'two-tower';
  nUsers: number;
  nItems: number;
  userEmbedding: { dim: number; values: Float32Array };
  historyEmbedding: { dim: number; values: Float32Array };
  userFeatures?: FeatureMatrix;
  layers: DenseLayer[];
  l2Normalize: boolean;
  /** item tower outputs for every item, [nItems, dim] */
  itemVectors: Float32Array;
  dim: number;
}

/**
 * A ranker (NCF family, FM family, Wide & Deep, DLRM, ...): score(user, item) for a batch of
 * (user, candidate) pairs, the second stage behind retrieval. Each model builds its own scoring
 * subgraph; the exporter wraps it in the ranker graph of the bundle contract:
 *
 *   inputs   user_index int64 [batch]   row in users.json; out of range = unknown user
 *            item_index int64 [batch]   row in items.json
 *   output   scores     float32 [batch]
 *
 * Side features are constants of the graph (initializers gathered by index), so serving feeds ids only.
 */
export interface RankerExport {
  kind: 'ranker';
  nUsers: number;
  nItems: number;
  /**
   * Adds the scoring subgraph. `userIndex` / `itemIndex` are int64 [batch], already made safe by
   * the exporter: an unknown user arrives as `nUsers` (the model's tables carry one extra row for
   * it, e.g. zeros or the mean user), items are in [0, nItems).
   * Returns float32 scores of shape [batch].
   */
  buildGraph(graph: GraphBuilder, userIndex: Value, itemIndex: Value, history?: SafeIndex): Value;
  /**
   * The same math in JavaScript (`users[b]` = nUsers for unknown); parity tests compare the graph with it.
   * `histories[b]` is pair b's history as fed to the graph (entries outside [0, nItems) are padding).
   */
  scorePairs(users: Int32Array, items: Int32Array, histories?: readonly Int32Array[]): Float32Array;
  /**
   * Set by rankers that read the user's recent history (kg-song): the graph gets a third input
   * `history` int64 [batch, historyLength], item rows oldest first, anything outside [0, nItems)
   * padding (serving pads at the end); `buildGraph` receives it made safe.
   */
  historyLength?: number;
}

/**
 * The history a model's user graph must read, when the training set's CSR is not it: each known
 * user's items in the order the graph expects (oldest first), and how many of the most recent core
 * feeds (the bundle's maxHistory). A model offers it with `servingHistory()` (REINFORCE's liked items).
 */
export interface ServingHistory {
  history: Csr;
  maxHistory: number;
}

/**
 * A user graph the model builds itself (Mult-VAE's encoder and decoder, an RL actor with its state
 * module, ...). The exporter declares the contract inputs, makes them safe and names the output:
 * with scoring "embedding" the subgraph returns user_embedding [batch, dim], scored against
 * `itemVectors`; with "scores" it returns scores [batch, nItems].
 */
export interface UserGraphExport {
  kind: 'user-graph';
  scoring: 'embedding' | 'scores';
  nUsers: number;
  nItems: number;
  /** embedding scoring: width of the user vector and of each item vector */
  dim?: number;
  /** embedding scoring: [nItems, dim] */
  itemVectors?: Float32Array;
  /**
   * `user.index` is int64 [batch] in [0, nUsers] (nUsers = unknown), `history.index` int64
   * [batch, length] in [0, nItems] (nItems = padding); `valid` says which entries were real.
   */
  buildGraph(graph: GraphBuilder, user: SafeIndex, history: SafeIndex): Value;
  /**
   * The same math in JavaScript: [users.length, dim] or [users.length, nItems]. `users[b]` outside
   * [0, nUsers) is unknown; history entries outside [0, nItems) are padding.
   */
  reference(users: Int32Array, histories: readonly Int32Array[]): Float32Array;
}
