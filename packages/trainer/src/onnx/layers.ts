import { TastemakerError } from '@tastemaker/core';
import { type GraphBuilder, type Value, attr } from './builder.js';
import { type DType, onnxDataType } from './dtypes.js';

/**
 * Building blocks shared by exported models. Each picks the operator form of the builder's opset
 * (several ops moved attributes to inputs in opsets 13 and 18), so model exporters never branch
 * on the opset themselves.
 */

/** The oldest opset these helpers emit (axes-as-input ReduceSum/Unsqueeze/Squeeze arrived in 13). */
export const MIN_LAYERS_OPSET = 13;

function requireOpset(g: GraphBuilder, what: string): void {
  if (g.opset < MIN_LAYERS_OPSET) {
    throw new TastemakerError('INVALID_ARGUMENT', `${what} needs opset >= ${MIN_LAYERS_OPSET}; graph ${g.name} targets ${g.opset}.`, {
      opset: g.opset,
    });
  }
}

export type ReduceOp = 'ReduceSum' | 'ReduceMean' | 'ReduceMax' | 'ReduceMin' | 'ReduceProd' | 'ReduceSumSquare' | 'ReduceL2' | 'ReduceLogSumExp';

/** A reduction over `axes`. ReduceSum takes axes as an input from opset 13, the others from 18. */
export function reduce(g: GraphBuilder, op: ReduceOp, x: Value, axes: readonly number[], keepdims: boolean, name?: string): Value {
  requireOpset(g, op);
  const axesAsInput = op === 'ReduceSum' ? g.opset >= 13 : g.opset >= 18;
  const opts = name ? { name } : {};
  return axesAsInput
    ? g.op(op, [x, g.int64(axes)], { keepdims: keepdims ? 1 : 0 }, opts)
    : g.op(op, [x], { axes: attr.ints(axes), keepdims: keepdims ? 1 : 0 }, opts);
}

export function reduceSum(g: GraphBuilder, x: Value, axes: readonly number[], keepdims: boolean, name?: string): Value {
  return reduce(g, 'ReduceSum', x, axes, keepdims, name);
}

export function unsqueeze(g: GraphBuilder, x: Value, axes: readonly number[]): Value {
  requireOpset(g, 'Unsqueeze');
  return g.op('Unsqueeze', [x, g.int64(axes)]);
}

export function squeeze(g: GraphBuilder, x: Value, axes: readonly number[]): Value {
  requireOpset(g, 'Squeeze');
  return g.op('Squeeze', [x, g.int64(axes)]);
}

export function cast(g: GraphBuilder, x: Value, to: DType): Value {
  return g.op('Cast', [x], { to: onnxDataType(to) });
}

export type Activation = 'linear' | 'relu' | 'tanh' | 'sigmoid';
export const ACTIVATIONS: readonly Activation[] = ['linear', 'relu', 'tanh', 'sigmoid'];

export function activate(g: GraphBuilder, x: Value, activation: Activation): Value {
  switch (activation) {
    case 'linear':
      return x;
    case 'relu':
      return g.op('Relu', [x]);
    case 'tanh':
      return g.op('Tanh', [x]);
    case 'sigmoid':
      return g.op('Sigmoid', [x]);
    default:
      throw new TastemakerError(
        'INVALID_ARGUMENT',
        `Unknown activation ${JSON.stringify(activation)}. Valid values: ${ACTIVATIONS.map((a) => JSON.stringify(a)).join(', ')}.`,
      );
  }
}

/** Weights of one fully connected layer; `weight` is row-major [inputDim, outputDim] (y = x · W + b). */
export interface DenseParams {
  inputDim: number;
  outputDim: number;
  weight: Float32Array;
  bias: Float32Array;
  activation: Activation;
}

/** [rows, cols] row-major → [cols, rows]: a weight kept as [out, in] (a row per output) in `dense`'s [in, out] layout. */
export function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

/**
 * y = activation(x · W + b) over the last axis of x (any rank). MatMul + Add rather than Gemm so the
 * same layer serves [batch, d] towers and [batch, candidates, d] rankers.
 */
export function dense(g: GraphBuilder, x: Value, layer: DenseParams, name: string): Value {
  const { inputDim, outputDim } = layer;
  if (layer.weight.length !== inputDim * outputDim || layer.bias.length !== outputDim) {
    throw new TastemakerError(
      'INVALID_ARGUMENT',
      `Dense layer ${name}: weight has ${layer.weight.length} values and bias ${layer.bias.length}; [${inputDim}, ${outputDim}] needs ${inputDim * outputDim} and ${outputDim}.`,
      { layer: name },
    );
  }
  const w = g.initializer(`${name}.weight`, layer.weight, [inputDim, outputDim]);
  const b = g.initializer(`${name}.bias`, layer.bias, [outputDim]);
  const y = g.op('Add', [g.op('MatMul', [x, w], {}, { name: `${name}.matmul` }), b], {}, { name: `${name}.add` });
  return activate(g, y, layer.activation);
}

/** Row-wise L2 normalisation of [batch, d]: x / max(‖x‖, epsilon), so an all-zero row stays zero. */
export function l2Normalize(g: GraphBuilder, x: Value, epsilon = 1e-12): Value {
  const norm = g.op('Sqrt', [reduceSum(g, g.op('Mul', [x, x]), [1], true)]);
  return g.op('Div', [x, g.op('Max', [norm, g.float32(epsilon)])], {}, { name: 'l2_normalize' });
}

/** An index input made safe for Gather: out-of-range and negative entries map to `count`, the pad row. */
export interface SafeIndex {
  /** indices in [0, count]; `count` marks a missing entry */
  index: Value;
  /** bool, true where the original index was in [0, count) */
  valid: Value;
}

/**
 * Clamps an int64 index tensor to [0, count]: anything outside [0, count) becomes `count`. Gather
 * fails on indices past the end and wraps negative ones, so a stray id from a client would
 * otherwise either crash the session or read the wrong row.
 */
export function safeIndex(g: GraphBuilder, index: Value, count: number, name: string): SafeIndex {
  const valid = g.op(
    'And',
    [g.op('GreaterOrEqual', [index, g.int64(0)]), g.op('Less', [index, g.int64(count)])],
    {},
    { name: `${name}_valid` },
  );
  return { index: g.op('Where', [valid, index, g.int64(count)], {}, { name: `${name}_safe` }), valid };
}

/**
 * Mean of `table` rows over the valid entries of `index` [batch, length] → [batch, d]; zeros for a
 * row with no valid entry. `table` must have a zero row at `index`'s pad value, so padding adds
 * nothing to the sum; the count comes from `valid`.
 */
export function maskedMeanLookup(g: GraphBuilder, table: Value, safe: SafeIndex, name: string): Value {
  const rows = g.op('Gather', [table, safe.index], { axis: 0 }, { name: `${name}_rows` });
  const sum = reduceSum(g, rows, [1], false, `${name}_sum`);
  const count = reduceSum(g, cast(g, safe.valid, 'float32'), [1], true, `${name}_count`);
  return g.op('Div', [sum, g.op('Max', [count, g.float32(1)])], {}, { name });
}
