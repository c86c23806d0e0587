/**
 * Mult-VAE as a "scores" user graph: history → encoder mean → decoder logits over every item.
 *
 * The encoder's input is the history's multi-hot row x, L2-normalised. For a 0/1 row with c ones,
 * x / ‖x‖ · W1 = (Σ_{i ∈ history} W1[i]) / √c, so the graph gathers W1's rows (plus a zero row for
 * padding) and sums them instead of materialising a [batch, nItems] input: a served history is short
 * next to the catalogue.
 *
 * Duplicates count once: the model was trained on 0/1 rows, and a history that repeats an item
 * (a re-watch, or the same item in the stored and the request history) is still the same row.
 * The graph drops an entry equal to an earlier entry of its row by comparing every pair of
 * positions, [batch, length, length] booleans; that is quadratic in history length, which is cheap
 * for the few hundred items a user history holds and keeps the graph to standard opset-13 ops.
 *
 * The user index is unused: Mult-VAE has no per-user parameters, so a known user is whatever their
 * history says, exactly like an unknown one. Scores are the decoder's logits; the softmax the model
 * is trained through is monotone, so leaving it out changes no ranking.
 */
import type { GraphBuilder, Value } from '../../onnx/builder.js';
import { cast, dense, reduceSum, type SafeIndex, unsqueeze } from '../../onnx/layers.js';
import type { UserGraphExport } from '../../export/types.js';
import type { VaeCfWeights } from './network.js';

/** The distinct valid items of a history (entries outside [0, nItems) are padding), first occurrence order. */
export function distinctHistory(history: ArrayLike<number>, nItems: number): number[] {
  const seen = new Set<number>();
  for (let k = 0; k < history.length; k++) {
    const item = history[k] ?? -1;
    if (Number.isInteger(item) && item >= 0 && item < nItems) seen.add(item);
  }
  return [...seen];
}

/** A [nItems + 1, hidden] table: W1's rows, then a zero row that padding and duplicates gather. */
function encoderTable(w: VaeCfWeights): Float32Array {
  const table = new Float32Array((w.nItems + 1) * w.hidden);
  table.set(w.encoder.weight.subarray(0, w.nItems * w.hidden));
  return table;
}

/** keep[b, k]: entry k of row b is valid and no earlier entry of the row holds the same item. */
function firstOccurrences(g: GraphBuilder, history: SafeIndex): Value {
  const h = history.index;
  const length = g.op('Gather', [g.op('Shape', [h]), g.int64(1)], { axis: 0 }, { name: 'history_length' });
  const positions = g.op('Range', [g.int64(0), length, g.int64(1)], {}, { name: 'history_positions' });
  // earlier[k, j] = j < k
  const earlier = g.op('Less', [unsqueeze(g, positions, [0]), unsqueeze(g, positions, [1])], {}, { name: 'earlier_position' });
  // same[b, k, j] = h[b, k] == h[b, j]
  const same = g.op('Equal', [unsqueeze(g, h, [2]), unsqueeze(g, h, [1])], {}, { name: 'same_item' });
  const repeats = reduceSum(g, cast(g, g.op('And', [same, earlier]), 'float32'), [2], false, 'earlier_repeats');
  const repeated = g.op('Greater', [repeats, g.float32(0)], {}, { name: 'is_repeat' });
  return g.op('And', [history.valid, g.op('Not', [repeated])], {}, { name: 'history_keep' });
}

function buildVaeGraph(w: VaeCfWeights, g: GraphBuilder, history: SafeIndex): Value {
  const keep = firstOccurrences(g, history);
  const index = g.op('Where', [keep, history.index, g.int64(w.nItems)], {}, { name: 'history_distinct' });
  const table = g.initializer('encoder.weight_rows', encoderTable(w), [w.nItems + 1, w.hidden]);
  const rows = g.op('Gather', [table, index], { axis: 0 }, { name: 'encoder_rows' });
  const sum = reduceSum(g, rows, [1], false, 'encoder_row_sum');
  const count = reduceSum(g, cast(g, keep, 'float32'), [1], true, 'history_count');
  // x/‖x‖ for a 0/1 row is 1/√c on each of its c items; an empty history stays all-zero.
  const projected = g.op('Div', [sum, g.op('Sqrt', [g.op('Max', [count, g.float32(1)])])], {}, { name: 'encoder_input_projection' });
  const bias = g.initializer('encoder.bias', w.encoder.bias, [w.hidden]);
  const hidden = g.op('Tanh', [g.op('Add', [projected, bias])], {}, { name: 'encoder_hidden' });
  const mu = dense(g, hidden, { inputDim: w.hidden, outputDim: w.latent, ...w.mu, activation: 'linear' }, 'mu');
  const decoded = dense(g, mu, { inputDim: w.latent, outputDim: w.hidden, ...w.decoderHidden, activation: 'tanh' }, 'decoder_hidden');
  return dense(g, decoded, { inputDim: w.hidden, outputDim: w.nItems, ...w.decoderOutput, activation: 'linear' }, 'decoder_output');
}

/** y = act(x · W + b) in float64 for one row. */
function denseRow(x: Float64Array, weight: Float32Array, bias: Float32Array, inputDim: number, outputDim: number, tanh: boolean): Float64Array {
  const y = new Float64Array(outputDim);
  for (let o = 0; o < outputDim; o++) y[o] = bias[o] ?? 0;
  for (let i = 0; i < inputDim; i++) {
    const xi = x[i] ?? 0;
    if (xi === 0) continue;
    const base = i * outputDim;
    for (let o = 0; o < outputDim; o++) y[o] = (y[o] ?? 0) + xi * (weight[base + o] ?? 0);
  }
  if (tanh) for (let o = 0; o < outputDim; o++) y[o] = Math.tanh(y[o] ?? 0);
  return y;
}

/** The graph's math in plain JavaScript (float64 accumulation): [users.length, nItems]. */
export function referenceVaeScores(w: VaeCfWeights, histories: readonly ArrayLike<number>[]): Float32Array {
  const { nItems, hidden, latent } = w;
  const out = new Float32Array(histories.length * nItems);
  histories.forEach((history, b) => {
    const items = distinctHistory(history, nItems);
    const h = new Float64Array(hidden);
    for (const item of items) for (let j = 0; j < hidden; j++) h[j] = (h[j] ?? 0) + (w.encoder.weight[item * hidden + j] ?? 0);
    const scale = 1 / Math.sqrt(Math.max(items.length, 1));
    for (let j = 0; j < hidden; j++) h[j] = Math.tanh((h[j] ?? 0) * scale + (w.encoder.bias[j] ?? 0));
    const mu = denseRow(h, w.mu.weight, w.mu.bias, hidden, latent, false);
    const d = denseRow(mu, w.decoderHidden.weight, w.decoderHidden.bias, latent, hidden, true);
    out.set(denseRow(d, w.decoderOutput.weight, w.decoderOutput.bias, hidden, nItems, false), b * nItems);
  });
  return out;
}

export function vaeCfExport(w: VaeCfWeights, nUsers: number): UserGraphExport {
  return {
    kind: 'user-graph',
    scoring: 'scores',
    nUsers,
    nItems: w.nItems,
    buildGraph: (g, _user, history) => buildVaeGraph(w, g, history),
    reference: (_users, histories) => referenceVaeScores(w, histories),
  };
}
