import { HISTORY_INPUT, ITEM_INDEX_INPUT, RANKER_GRAPH, RANKER_OUTPUT, TastemakerError, USER_INDEX_INPUT } from '@tastemaker/core';
import { DEFAULT_OPSET, GraphBuilder } from '../onnx/builder.js';
import { MIN_LAYERS_OPSET, safeIndex, type SafeIndex } from '../onnx/layers.js';
import type { ExportedGraph, GraphExportOptions } from './graphs.js';
import { validateExportSpec } from './graphs.js';
import type { RankerExport } from './types.js';

/**
 * RankerExport → the `ranker` graph of a two-stage bundle (packages/core/src/bundle/manifest.ts):
 *
 *   inputs   user_index int64 [batch]   row in users.json; anything outside [0, nUsers) = unknown user
 *            item_index int64 [batch]   row in items.json
 *            history    int64 [batch, historyLength]   only when the spec sets historyLength (kg-song):
 *                       the user's recent item rows, oldest first; out of range = padding
 *   output   scores     float32 [batch]
 *
 * The exporter owns the contract (names, dtypes, safe indices) so each model only writes its scoring
 * subgraph. An unknown user reaches the model as row `nUsers`. An out-of-range item cannot be
 * scored: it is gathered as row 0 (so Gather neither fails nor wraps) and its score is replaced by
 * -Infinity, so a stray candidate ranks last instead of borrowing another item's score.
 */

const BATCH = 'batch';

function invalid(message: string, details: Record<string, unknown> = {}): TastemakerError {
  return new TastemakerError('INVALID_ARGUMENT', `Invalid ranker export: ${message}`, details);
}

function checkSpec(spec: RankerExport): void {
  if (spec.kind !== 'ranker') throw invalid(`expected kind "ranker", got ${JSON.stringify(spec.kind)}.`);
  validateExportSpec(spec);
  if (typeof spec.buildGraph !== 'function' || typeof spec.scorePairs !== 'function') {
    throw invalid('buildGraph and scorePairs must both be functions.');
  }
  if (spec.historyLength !== undefined && !(Number.isInteger(spec.historyLength) && spec.historyLength >= 1)) {
    throw invalid(`historyLength must be a positive integer, got ${String(spec.historyLength)}.`);
  }
}

/** The ranker graph's builder, for callers that inspect or extend it before serialising. */
export function buildRankerGraph(spec: RankerExport, options: GraphExportOptions = {}): GraphBuilder {
  checkSpec(spec);
  const opset = options.opset ?? DEFAULT_OPSET;
  if (opset < MIN_LAYERS_OPSET) throw invalid(`opset ${opset} is too old; exports need >= ${MIN_LAYERS_OPSET}.`, { opset });
  const g = new GraphBuilder(RANKER_GRAPH, { opset, docString: 'Tastemaker ranker: scores (user, candidate item) pairs' });
  const userIndex = g.input(USER_INDEX_INPUT, 'int64', [BATCH]);
  const itemIndex = g.input(ITEM_INDEX_INPUT, 'int64', [BATCH]);

  const user = safeIndex(g, userIndex, spec.nUsers, 'user');
  const item = safeIndex(g, itemIndex, spec.nItems, 'item');
  // safeIndex maps a bad item to nItems, a row the model's item tables do not have; row 0 is read
  // instead and the score masked below.
  const itemRow = g.op('Where', [item.valid, itemIndex, g.int64(0)], {}, { name: 'item_row' });
  let history: SafeIndex | undefined;
  if (spec.historyLength !== undefined) {
    // the pad value nItems is what safeIndex maps anything out of range to, so the model sees one padding id
    const input = g.input(HISTORY_INPUT, 'int64', [BATCH, spec.historyLength]);
    history = safeIndex(g, input, spec.nItems, 'history');
  }
  const raw = spec.buildGraph(g, user.index, itemRow, history);
  const scores = g.op('Where', [item.valid, raw, g.float32(Number.NEGATIVE_INFINITY)], {}, { name: 'ranker_scores' });
  g.output(scores, RANKER_OUTPUT, 'float32', [BATCH]);
  return g;
}

/** The serialised ranker graph and the signature the manifest records for it. */
export function exportRankerGraph(spec: RankerExport, options: GraphExportOptions = {}): ExportedGraph {
  const g = buildRankerGraph(spec, options);
  const bytes = g.toModel({
    ...(options.irVersion !== undefined ? { irVersion: options.irVersion } : {}),
    producer: 'tastemaker',
    ...(options.producerVersion ? { producerVersion: options.producerVersion } : {}),
    metadata: { 'tastemaker.export_kind': 'ranker' },
  });
  return { name: g.name, file: `${g.name}.onnx`, bytes, signature: g.signature(), opset: g.opset };
}

/**
 * What the ranker graph computes, in JavaScript: users outside [0, nUsers) become `nUsers`, items
 * outside [0, nItems) score -Infinity, the rest go through `spec.scorePairs`.
 */
export function referenceRankerScores(spec: RankerExport, users: ArrayLike<number>, items: ArrayLike<number>, histories?: readonly Int32Array[]): Float32Array {
  checkSpec(spec);
  if (users.length !== items.length) throw invalid(`users has ${users.length} entries but items has ${items.length}.`);
  const n = users.length;
  const known = (v: number, count: number): boolean => Number.isInteger(v) && v >= 0 && v < count;
  const u = new Int32Array(n);
  const i = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    const user = users[b] ?? -1;
    const item = items[b] ?? -1;
    u[b] = known(user, spec.nUsers) ? user : spec.nUsers;
    i[b] = known(item, spec.nItems) ? item : 0;
  }
  const scores = spec.scorePairs(u, i, histories);
  if (scores.length !== n) throw invalid(`scorePairs returned ${scores.length} scores for ${n} pairs.`);
  const out = Float32Array.from(scores);
  for (let b = 0; b < n; b++) if (!known(items[b] ?? -1, spec.nItems)) out[b] = Number.NEGATIVE_INFINITY;
  return out;
}
