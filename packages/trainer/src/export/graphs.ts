import { HISTORY_INPUT, type Scoring, TastemakerError, USER_GRAPH_BY_SCORING, USER_INDEX_INPUT } from '@tastemaker/core';
import { DEFAULT_OPSET, GraphBuilder, type GraphSignature, type Value } from '../onnx/builder.js';
import { MIN_LAYERS_OPSET, cast, dense, l2Normalize, maskedMeanLookup, reduceSum, safeIndex, unsqueeze } from '../onnx/layers.js';
import type { ExportSpec, ItemSimilarityExport, MatrixFactorizationExport, PopularityExport, TwoTowerExport, UserGraphExport } from './types.js';

/**
 * ExportSpec → ONNX graphs that follow the bundle contract (packages/core/src/bundle/manifest.ts):
 *
 *   inputs   user_index int64 [batch]          row in users.json; anything outside [0, users) = unknown user
 *            history    int64 [batch, length]  item rows; anything outside [0, items) = padding
 *   outputs  user_tower → user_embedding float32 [batch, dim]   (scoring "embedding")
 *            scorer     → scores         float32 [batch, items] (scoring "scores")
 *
 * The contract names `users.count` / `items.count` as the unknown / padding markers; the graphs
 * treat every out-of-range index that way, because Gather would otherwise fail (past the end) or
 * silently wrap (negative) on a stray id. Every graph takes both inputs, used or not, so core can
 * feed any bundle the same way.
 *
 * `referenceUserVectors` / `referenceScores` are the same math in plain JavaScript; parity tests and
 * the trainer's serving-side checks compare the graphs against them.
 */

/** Epsilon of the two-tower L2 normalisation: x / max(‖x‖, eps). */
export const L2_EPSILON = 1e-12;

const BATCH = 'batch';
const LENGTH = 'length';

export interface GraphExportOptions {
  /** default-domain opset (>= 13); default 17 */
  opset?: number;
  irVersion?: number;
  /** recorded as the model's producer_version */
  producerVersion?: string;
}

/** One serialised graph of a bundle and the signature the manifest records for it. */
export interface ExportedGraph {
  /** graph name in the manifest, e.g. "user_tower" */
  name: string;
  /** file name in the bundle, `<name>.onnx` */
  file: string;
  bytes: Uint8Array;
  signature: GraphSignature;
  opset: number;
}

/** Item vectors for `items.f32`: row-major [nItems, dim]. */
export interface ItemVectors {
  values: Float32Array;
  dim: number;
}

function invalidSpec(spec: ExportSpec, message: string, details: Record<string, unknown> = {}): TastemakerError {
  return new TastemakerError('INVALID_ARGUMENT', `Invalid ${spec.kind} export: ${message}`, { kind: spec.kind, ...details });
}

/** How core scores a bundle of this spec: dot products against items.f32, or a full score row. */
export function scoringOf(spec: ExportSpec): Scoring {
  if (spec.kind === 'user-graph') return spec.scoring;
  return spec.kind === 'matrix-factorization' || spec.kind === 'two-tower' ? 'embedding' : 'scores';
}

/** Number of items the spec scores. */
export function itemCountOf(spec: ExportSpec): number {
  switch (spec.kind) {
    case 'popularity':
      return spec.scores.length;
    case 'item-similarity':
      return spec.nItems;
    case 'matrix-factorization':
      return spec.dim > 0 ? spec.itemFactors.length / spec.dim : 0;
    case 'two-tower':
    case 'ranker':
    case 'user-graph':
      return spec.nItems;
  }
}

/** Number of known users, or undefined for specs that score everyone alike. */
export function userCountOf(spec: ExportSpec): number | undefined {
  switch (spec.kind) {
    case 'matrix-factorization':
      return spec.dim > 0 ? spec.userFactors.length / spec.dim : 0;
    case 'two-tower':
    case 'ranker':
    case 'user-graph':
      return spec.nUsers;
    default:
      return undefined;
  }
}

/** Width of the user vector (embedding scoring), including MF's bias coordinate. */
export function userVectorDim(spec: MatrixFactorizationExport | TwoTowerExport): number {
  return spec.kind === 'two-tower' ? spec.dim : spec.dim + (spec.itemBias ? 1 : 0);
}

/** Checks that every array of the spec has the length its dimensions imply. */
export function validateExportSpec(spec: ExportSpec): void {
  const posInt = (name: string, v: number, allowZero = false): void => {
    if (!Number.isInteger(v) || v < (allowZero ? 0 : 1)) throw invalidSpec(spec, `${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${v}.`);
  };
  const length = (name: string, arr: ArrayLike<number>, expected: number): void => {
    if (arr.length !== expected) throw invalidSpec(spec, `${name} has ${arr.length} values, expected ${expected}.`, { array: name });
  };
  switch (spec.kind) {
    case 'popularity':
      posInt('item count', spec.scores.length);
      return;
    case 'item-similarity':
      posInt('nItems', spec.nItems);
      length('matrix', spec.matrix, spec.nItems * spec.nItems);
      return;
    case 'matrix-factorization': {
      posInt('dim', spec.dim);
      if (spec.userFactors.length % spec.dim !== 0) throw invalidSpec(spec, `userFactors length ${spec.userFactors.length} is not a multiple of dim ${spec.dim}.`);
      if (spec.itemFactors.length % spec.dim !== 0) throw invalidSpec(spec, `itemFactors length ${spec.itemFactors.length} is not a multiple of dim ${spec.dim}.`);
      posInt('item count', spec.itemFactors.length / spec.dim);
      if (spec.itemBias) length('itemBias', spec.itemBias, spec.itemFactors.length / spec.dim);
      return;
    }
    case 'two-tower': {
      posInt('nUsers', spec.nUsers, true);
      posInt('nItems', spec.nItems);
      posInt('dim', spec.dim);
      posInt('userEmbedding.dim', spec.userEmbedding.dim, true);
      posInt('historyEmbedding.dim', spec.historyEmbedding.dim, true);
      length('userEmbedding.values', spec.userEmbedding.values, spec.nUsers * spec.userEmbedding.dim);
      length('historyEmbedding.values', spec.historyEmbedding.values, spec.nItems * spec.historyEmbedding.dim);
      const nf = spec.userFeatures?.names.length ?? 0;
      if (spec.userFeatures) length('userFeatures.values', spec.userFeatures.values, spec.nUsers * nf);
      let width = spec.userEmbedding.dim + spec.historyEmbedding.dim + nf;
      posInt('input width (userEmbedding.dim + historyEmbedding.dim + features)', width);
      for (const [k, layer] of spec.layers.entries()) {
        if (layer.inputDim !== width) throw invalidSpec(spec, `layer ${k} takes ${layer.inputDim} inputs but receives ${width}.`, { layer: k });
        posInt(`layer ${k} outputDim`, layer.outputDim);
        length(`layer ${k} weight`, layer.weight, layer.inputDim * layer.outputDim);
        length(`layer ${k} bias`, layer.bias, layer.outputDim);
        width = layer.outputDim;
      }
      if (width !== spec.dim) throw invalidSpec(spec, `the tower outputs ${width} values but dim is ${spec.dim}.`);
      length('itemVectors', spec.itemVectors, spec.nItems * spec.dim);
      return;
    }
    case 'ranker':
      posInt('nUsers', spec.nUsers, true);
      posInt('nItems', spec.nItems);
      return;
    case 'user-graph':
      posInt('nUsers', spec.nUsers, true);
      posInt('nItems', spec.nItems);
      if (spec.scoring === 'embedding') {
        if (spec.dim === undefined || spec.itemVectors === undefined) throw invalidSpec(spec, 'embedding scoring needs dim and itemVectors.');
        posInt('dim', spec.dim);
        length('itemVectors', spec.itemVectors, spec.nItems * spec.dim);
      }
      return;
    default:
      throw new TastemakerError('INVALID_ARGUMENT', `Unknown export kind ${JSON.stringify((spec as { kind: unknown }).kind)}. Valid values: "popularity", "item-similarity", "matrix-factorization", "two-tower", "ranker", "user-graph".`);
  }
}

// ---------------------------------------------------------------------------------------------
// Graphs

interface ContractInputs {
  g: GraphBuilder;
  userIndex: Value;
  history: Value;
}

function contractGraph(name: string, spec: ExportSpec, options: GraphExportOptions): ContractInputs {
  const opset = options.opset ?? DEFAULT_OPSET;
  if (opset < MIN_LAYERS_OPSET) throw invalidSpec(spec, `opset ${opset} is too old; exports need >= ${MIN_LAYERS_OPSET}.`);
  const g = new GraphBuilder(name, { opset, docString: `Tastemaker ${spec.kind} ${name}` });
  const userIndex = g.input(USER_INDEX_INPUT, 'int64', [BATCH]);
  const history = g.input(HISTORY_INPUT, 'int64', [BATCH, LENGTH]);
  return { g, userIndex, history };
}

/** A [rows + 1, width] table: `values` followed by one all-zero row for the unknown/pad index. */
function withZeroRow(values: Float32Array, rows: number, width: number): Float32Array {
  const out = new Float32Array((rows + 1) * width);
  out.set(values.subarray(0, rows * width));
  return out;
}

function popularityScorer(spec: PopularityExport, options: GraphExportOptions): GraphBuilder {
  const { g, userIndex } = contractGraph(USER_GRAPH_BY_SCORING.scores.graph, spec, options);
  const n = spec.scores.length;
  const scores = g.initializer('popularity', spec.scores, [n]);
  const shape = g.op('Concat', [g.op('Shape', [userIndex]), g.int64([n])], { axis: 0 }, { name: 'scores_shape' });
  g.output(g.op('Expand', [scores, shape]), USER_GRAPH_BY_SCORING.scores.output, 'float32', [BATCH, n]);
  return g;
}

function itemSimilarityScorer(spec: ItemSimilarityExport, options: GraphExportOptions): GraphBuilder {
  const { g, history } = contractGraph(USER_GRAPH_BY_SCORING.scores.graph, spec, options);
  const n = spec.nItems;
  const table = g.initializer('similarity', withZeroRow(spec.matrix, n, n), [n + 1, n]);
  const h = safeIndex(g, history, n, 'history');
  const rows = g.op('Gather', [table, h.index], { axis: 0 }, { name: 'history_rows' });
  const scores = reduceSum(g, rows, [1], false, 'history_sum');
  g.output(scores, USER_GRAPH_BY_SCORING.scores.output, 'float32', [BATCH, n]);
  return g;
}

function matrixFactorizationTower(spec: MatrixFactorizationExport, options: GraphExportOptions): GraphBuilder {
  const { g, userIndex, history } = contractGraph(USER_GRAPH_BY_SCORING.embedding.graph, spec, options);
  const nUsers = userCountOf(spec) ?? 0;
  const nItems = itemCountOf(spec);
  const d = spec.dim;
  const out = userVectorDim(spec);
  const bias = spec.itemBias !== undefined;

  // Known users read P[u] (plus a 1 that multiplies the item's bias coordinate); the extra last row
  // serves unknown users: zeros, plus that same 1.
  const users = new Float32Array((nUsers + 1) * out);
  for (let u = 0; u <= nUsers; u++) {
    if (u < nUsers) users.set(spec.userFactors.subarray(u * d, (u + 1) * d), u * out);
    if (bias) users[u * out + d] = 1;
  }
  // Fold-in table: Q rows with a 0 in the bias slot (the 1 comes from the user table), then the pad row.
  const fold = new Float32Array((nItems + 1) * out);
  for (let i = 0; i < nItems; i++) fold.set(spec.itemFactors.subarray(i * d, (i + 1) * d), i * out);

  const u = safeIndex(g, userIndex, nUsers, 'user');
  const h = safeIndex(g, history, nItems, 'history');
  const known = g.op('Gather', [g.initializer('user_factors', users, [nUsers + 1, out]), u.index], { axis: 0 }, { name: 'user_rows' });
  const mean = maskedMeanLookup(g, g.initializer('item_factors', fold, [nItems + 1, out]), h, 'history_mean');
  // [batch, 1] weight of the fold-in: 1 for unknown users, 0 for known ones.
  const unknown = unsqueeze(g, cast(g, g.op('Not', [u.valid], {}, { name: 'unknown_user' }), 'float32'), [1]);
  const vector = g.op('Add', [known, g.op('Mul', [mean, unknown])]);
  g.output(vector, USER_GRAPH_BY_SCORING.embedding.output, 'float32', [BATCH, out]);
  return g;
}

function twoTowerUserTower(spec: TwoTowerExport, options: GraphExportOptions): GraphBuilder {
  const { g, userIndex, history } = contractGraph(USER_GRAPH_BY_SCORING.embedding.graph, spec, options);
  const { nUsers, nItems } = spec;
  const u = safeIndex(g, userIndex, nUsers, 'user');
  const parts: Value[] = [];
  const du = spec.userEmbedding.dim;
  if (du > 0) {
    const table = g.initializer('user_embedding_table', withZeroRow(spec.userEmbedding.values, nUsers, du), [nUsers + 1, du]);
    parts.push(g.op('Gather', [table, u.index], { axis: 0 }, { name: 'user_rows' }));
  }
  const dh = spec.historyEmbedding.dim;
  if (dh > 0) {
    const h = safeIndex(g, history, nItems, 'history');
    const table = g.initializer('history_embedding_table', withZeroRow(spec.historyEmbedding.values, nItems, dh), [nItems + 1, dh]);
    parts.push(maskedMeanLookup(g, table, h, 'history_mean'));
  }
  const nf = spec.userFeatures?.names.length ?? 0;
  if (spec.userFeatures && nf > 0) {
    const table = g.initializer('user_features_table', withZeroRow(spec.userFeatures.values, nUsers, nf), [nUsers + 1, nf]);
    parts.push(g.op('Gather', [table, u.index], { axis: 0 }, { name: 'user_features' }));
  }
  let x = parts.length === 1 && parts[0] ? parts[0] : g.op('Concat', parts, { axis: 1 }, { name: 'tower_input' });
  for (const [k, layer] of spec.layers.entries()) x = dense(g, x, layer, `dense_${k}`);
  if (spec.l2Normalize) x = l2Normalize(g, x, L2_EPSILON);
  g.output(x, USER_GRAPH_BY_SCORING.embedding.output, 'float32', [BATCH, spec.dim]);
  return g;
}

/** The graph builder for a spec (user_tower or scorer), for callers that want to inspect or extend it. */
export function buildGraph(spec: ExportSpec, options: GraphExportOptions = {}): GraphBuilder {
  validateExportSpec(spec);
  switch (spec.kind) {
    case 'popularity':
      return popularityScorer(spec, options);
    case 'item-similarity':
      return itemSimilarityScorer(spec, options);
    case 'matrix-factorization':
      return matrixFactorizationTower(spec, options);
    case 'two-tower':
      return twoTowerUserTower(spec, options);
    case 'ranker':
      throw new TastemakerError('INVALID_ARGUMENT', 'A ranker has no user graph of its own; it is exported as the ranker graph of a two-stage bundle.');
    case 'user-graph':
      return customUserGraph(spec, options);
  }
}

function customUserGraph(spec: UserGraphExport, options: GraphExportOptions): GraphBuilder {
  const contract = USER_GRAPH_BY_SCORING[spec.scoring];
  const { g, userIndex, history } = contractGraph(contract.graph, spec, options);
  const out = spec.buildGraph(g, safeIndex(g, userIndex, spec.nUsers, 'user'), safeIndex(g, history, spec.nItems, 'history'));
  const width = spec.scoring === 'embedding' ? (spec.dim ?? 0) : spec.nItems;
  g.output(out, contract.output, 'float32', [BATCH, width]);
  return g;
}

/** Every graph a bundle of this spec carries, serialised. */
export function exportGraphs(spec: ExportSpec, options: GraphExportOptions = {}): ExportedGraph[] {
  const g = buildGraph(spec, options);
  const bytes = g.toModel({
    ...(options.irVersion !== undefined ? { irVersion: options.irVersion } : {}),
    producer: 'tastemaker',
    ...(options.producerVersion ? { producerVersion: options.producerVersion } : {}),
    metadata: { 'tastemaker.export_kind': spec.kind, 'tastemaker.scoring': scoringOf(spec) },
  });
  return [{ name: g.name, file: `${g.name}.onnx`, bytes, signature: g.signature(), opset: g.opset }];
}

/** Item vectors for items.f32 (embedding scoring); null for specs scored by a `scores` graph. */
export function itemVectors(spec: ExportSpec): ItemVectors | null {
  validateExportSpec(spec);
  if (spec.kind === 'two-tower') return { values: spec.itemVectors, dim: spec.dim };
  if (spec.kind === 'user-graph') return spec.scoring === 'embedding' && spec.itemVectors && spec.dim ? { values: spec.itemVectors, dim: spec.dim } : null;
  if (spec.kind !== 'matrix-factorization') return null;
  const n = itemCountOf(spec);
  const d = spec.dim;
  if (!spec.itemBias) return { values: spec.itemFactors, dim: d };
  // dot([p, 1], [q, b]) = p·q + b: the bias rides along as the last coordinate.
  const out = d + 1;
  const values = new Float32Array(n * out);
  for (let i = 0; i < n; i++) {
    values.set(spec.itemFactors.subarray(i * d, (i + 1) * d), i * out);
    values[i * out + d] = spec.itemBias[i] ?? 0;
  }
  return { values, dim: out };
}

// ---------------------------------------------------------------------------------------------
// Reference forward (plain JavaScript, float64 accumulation)

function isKnown(index: number, count: number): boolean {
  return Number.isInteger(index) && index >= 0 && index < count;
}

/** Mean of table rows over the valid history entries, zeros if none; returns a width-`d` array. */
function historyMean(table: Float32Array, d: number, nItems: number, history: ArrayLike<number>): Float64Array {
  const acc = new Float64Array(d);
  let count = 0;
  for (let k = 0; k < history.length; k++) {
    const item = history[k] ?? -1;
    if (!isKnown(item, nItems)) continue;
    count++;
    for (let j = 0; j < d; j++) acc[j] = (acc[j] ?? 0) + (table[item * d + j] ?? 0);
  }
  if (count > 0) for (let j = 0; j < d; j++) acc[j] = (acc[j] ?? 0) / count;
  return acc;
}

function checkBatch(users: ArrayLike<number>, histories: readonly ArrayLike<number>[]): void {
  if (users.length !== histories.length) {
    throw new TastemakerError('INVALID_ARGUMENT', `users has ${users.length} entries but histories has ${histories.length}.`);
  }
}

/**
 * What the user_tower graph computes, for embedding specs: [users.length, userVectorDim(spec)].
 * `users[b]` is a user row; -1, `nUsers` or anything else outside [0, nUsers) means unknown.
 * `histories[b]` are item rows; entries outside [0, nItems) are padding.
 */
export function referenceUserVectors(
  spec: MatrixFactorizationExport | TwoTowerExport,
  users: ArrayLike<number>,
  histories: readonly ArrayLike<number>[],
): Float32Array {
  validateExportSpec(spec);
  checkBatch(users, histories);
  const batch = users.length;
  const out = userVectorDim(spec);
  const result = new Float32Array(batch * out);
  const nUsers = userCountOf(spec) ?? 0;
  const nItems = itemCountOf(spec);

  for (let b = 0; b < batch; b++) {
    const user = users[b] ?? -1;
    const history = histories[b] ?? [];
    let vector: Float64Array;
    if (spec.kind === 'matrix-factorization') {
      const d = spec.dim;
      vector = new Float64Array(out);
      if (isKnown(user, nUsers)) for (let j = 0; j < d; j++) vector[j] = spec.userFactors[user * d + j] ?? 0;
      else vector.set(historyMean(spec.itemFactors, d, nItems, history));
      if (spec.itemBias) vector[d] = 1;
    } else {
      vector = twoTowerForward(spec, user, history);
    }
    for (let j = 0; j < out; j++) result[b * out + j] = vector[j] ?? 0;
  }
  return result;
}

function twoTowerForward(spec: TwoTowerExport, user: number, history: ArrayLike<number>): Float64Array {
  const known = isKnown(user, spec.nUsers);
  const du = spec.userEmbedding.dim;
  const nf = spec.userFeatures?.names.length ?? 0;
  let x = new Float64Array(du + spec.historyEmbedding.dim + nf);
  if (known) for (let j = 0; j < du; j++) x[j] = spec.userEmbedding.values[user * du + j] ?? 0;
  x.set(historyMean(spec.historyEmbedding.values, spec.historyEmbedding.dim, spec.nItems, history), du);
  if (known && spec.userFeatures) {
    const offset = du + spec.historyEmbedding.dim;
    for (let j = 0; j < nf; j++) x[offset + j] = spec.userFeatures.values[user * nf + j] ?? 0;
  }
  for (const layer of spec.layers) {
    const y = new Float64Array(layer.outputDim);
    for (let o = 0; o < layer.outputDim; o++) {
      let s = layer.bias[o] ?? 0;
      for (let i = 0; i < layer.inputDim; i++) s += (x[i] ?? 0) * (layer.weight[i * layer.outputDim + o] ?? 0);
      y[o] = layer.activation === 'relu' ? Math.max(0, s) : layer.activation === 'tanh' ? Math.tanh(s) : s;
    }
    x = y;
  }
  if (spec.l2Normalize) {
    let sq = 0;
    for (const v of x) sq += v * v;
    const denom = Math.max(Math.sqrt(sq), L2_EPSILON);
    for (let j = 0; j < x.length; j++) x[j] = (x[j] ?? 0) / denom;
  }
  return x;
}

/**
 * Scores of every item for each user, [users.length, nItems], as core computes them from the bundle:
 * the scorer graph's output, or dot(user_embedding, items.f32 row). Same input conventions as
 * `referenceUserVectors`.
 */
export function referenceScores(spec: ExportSpec, users: ArrayLike<number>, histories: readonly ArrayLike<number>[]): Float32Array {
  validateExportSpec(spec);
  checkBatch(users, histories);
  const batch = users.length;
  const n = itemCountOf(spec);
  const scores = new Float32Array(batch * n);
  switch (spec.kind) {
    case 'popularity':
      for (let b = 0; b < batch; b++) scores.set(spec.scores, b * n);
      return scores;
    case 'item-similarity':
      for (let b = 0; b < batch; b++) {
        const acc = new Float64Array(n);
        const history = histories[b] ?? [];
        for (let k = 0; k < history.length; k++) {
          const item = history[k] ?? -1;
          if (!isKnown(item, n)) continue;
          for (let i = 0; i < n; i++) acc[i] = (acc[i] ?? 0) + (spec.matrix[item * n + i] ?? 0);
        }
        scores.set(acc, b * n);
      }
      return scores;
    case 'matrix-factorization':
    case 'two-tower': {
      const vectors = referenceUserVectors(spec, users, histories);
      const items = itemVectors(spec);
      if (!items) throw new TastemakerError('INTERNAL', `No item vectors for ${spec.kind}.`);
      const d = items.dim;
      for (let b = 0; b < batch; b++) {
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let j = 0; j < d; j++) s += (vectors[b * d + j] ?? 0) * (items.values[i * d + j] ?? 0);
          scores[b * n + i] = s;
        }
      }
      return scores;
    }
    case 'user-graph': {
      const out = spec.reference(Int32Array.from(users), histories.map((h) => Int32Array.from(h)));
      if (spec.scoring === 'scores') return out;
      const d = spec.dim ?? 0;
      const vectors = spec.itemVectors ?? new Float32Array(0);
      for (let b = 0; b < batch; b++) {
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let j = 0; j < d; j++) s += (out[b * d + j] ?? 0) * (vectors[i * d + j] ?? 0);
          scores[b * n + i] = s;
        }
      }
      return scores;
    }
    case 'ranker': {
      const items = new Int32Array(n);
      for (let i = 0; i < n; i++) items[i] = i;
      for (let b = 0; b < batch; b++) {
        const u = users[b] ?? -1;
        const user = Number.isInteger(u) && u >= 0 && u < spec.nUsers ? u : spec.nUsers;
        scores.set(spec.scorePairs(new Int32Array(n).fill(user), items), b * n);
      }
      return scores;
    }
  }
}
