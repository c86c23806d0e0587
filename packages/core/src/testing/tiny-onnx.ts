/**
 * A minimal ONNX protobuf writer for core's own tests. Core must not import the trainer (which owns
 * the real exporter), yet its loader, signature check and backends need real graphs to run against;
 * this writes just the subset of ModelProto those tests use. Not part of the public API.
 */

type Dim = number | string;
export type OnnxElemType = 'float32' | 'int64' | 'int32' | 'bool';

const ELEM_TYPE: Record<OnnxElemType, number> = { float32: 1, int32: 6, int64: 7, bool: 9 };

export interface TinyValueInfo {
  name: string;
  dtype: OnnxElemType;
  shape: Dim[];
}

export interface TinyInitializer {
  name: string;
  dtype: 'float32' | 'int64';
  dims: number[];
  values: Float32Array | BigInt64Array;
}

export interface TinyNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, number | number[]>;
}

export interface TinyGraph {
  name?: string;
  inputs: TinyValueInfo[];
  outputs: TinyValueInfo[];
  initializers?: TinyInitializer[];
  nodes: TinyNode[];
  opset?: number;
}

class ProtoWriter {
  private chunks: number[] = [];

  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.chunks.push(Number((v & 0x7fn) | 0x80n));
      v >>= 7n;
    }
    this.chunks.push(Number(v));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, 0);
    this.varint(value);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.varint(value.length);
    for (const b of value) this.chunks.push(b);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, inner: ProtoWriter): this {
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

function valueInfo(info: TinyValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of info.shape) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().int(1, ELEM_TYPE[info.dtype]).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, info.name).message(2, type);
}

function initializer(init: TinyInitializer): ProtoWriter {
  const t = new ProtoWriter();
  for (const d of init.dims) t.int(1, d);
  t.int(2, ELEM_TYPE[init.dtype]);
  t.string(8, init.name);
  t.bytes(9, new Uint8Array(init.values.buffer, init.values.byteOffset, init.values.byteLength));
  return t;
}

function node(n: TinyNode, index: number): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, `${n.op}_${index}`);
  w.string(4, n.op);
  for (const [name, value] of Object.entries(n.attributes ?? {})) {
    const a = new ProtoWriter().string(1, name);
    if (Array.isArray(value)) {
      for (const v of value) a.int(8, v);
      a.int(20, 7); // INTS
    } else {
      a.int(3, value);
      a.int(20, 2); // INT
    }
    w.message(5, a);
  }
  return w;
}

/** Serialises a graph as an ONNX model (IR 8, default domain at the given opset, 17 unless told). */
export function writeTinyOnnx(graph: TinyGraph): Uint8Array {
  const g = new ProtoWriter();
  graph.nodes.forEach((n, i) => g.message(1, node(n, i)));
  g.string(2, graph.name ?? 'tiny');
  for (const init of graph.initializers ?? []) g.message(5, initializer(init));
  for (const i of graph.inputs) g.message(11, valueInfo(i));
  for (const o of graph.outputs) g.message(12, valueInfo(o));
  const opset = new ProtoWriter().string(1, '').int(2, graph.opset ?? 17);
  return new ProtoWriter().int(1, 8).string(2, 'tastemaker-core-tests').message(8, opset).message(7, g).finish();
}

/**
 * A user tower that follows the bundle contract: user_embedding = U[user_index] + sum(V[history]).
 * U has users+1 rows and V items+1 rows; the extra rows are the zero "unknown user" and padding rows.
 */
export interface TinyTowerOptions {
  users: number;
  items: number;
  dim: number;
  userVectors: Float32Array;
  itemVectors: Float32Array;
  inputNames?: { userIndex?: string; history?: string };
}

export function userTowerOnnx(opts: TinyTowerOptions): Uint8Array {
  return writeTinyOnnx(towerGraph(opts, false));
}

/** A `scores` graph over the same tower: scores = user_embedding · itemVectorsᵀ. */
export function scorerOnnx(opts: TinyTowerOptions): Uint8Array {
  return writeTinyOnnx(towerGraph(opts, true));
}

function towerGraph(opts: TinyTowerOptions, scores: boolean): TinyGraph {
  const { users, items, dim } = opts;
  const u = new Float32Array((users + 1) * dim);
  u.set(opts.userVectors.subarray(0, users * dim));
  const v = new Float32Array((items + 1) * dim);
  v.set(opts.itemVectors.subarray(0, items * dim));
  const userIndex = opts.inputNames?.userIndex ?? 'user_index';
  const history = opts.inputNames?.history ?? 'history';
  const vt = new Float32Array(dim * items);
  for (let i = 0; i < items; i++) for (let j = 0; j < dim; j++) vt[j * items + i] = opts.itemVectors[i * dim + j] as number;
  const graph: TinyGraph = {
    name: 'user_tower',
    inputs: [
      { name: userIndex, dtype: 'int64', shape: ['batch'] },
      { name: history, dtype: 'int64', shape: ['batch', 'length'] },
    ],
    outputs: [{ name: 'user_embedding', dtype: 'float32', shape: ['batch', dim] }],
    initializers: [
      { name: 'U', dtype: 'float32', dims: [users + 1, dim], values: u },
      { name: 'V', dtype: 'float32', dims: [items + 1, dim], values: v },
      { name: 'axes1', dtype: 'int64', dims: [1], values: BigInt64Array.from([1n]) },
    ],
    nodes: [
      { op: 'Gather', inputs: ['U', userIndex], outputs: ['u'], attributes: { axis: 0 } },
      { op: 'Gather', inputs: ['V', history], outputs: ['hv'], attributes: { axis: 0 } },
      { op: 'ReduceSum', inputs: ['hv', 'axes1'], outputs: ['hs'], attributes: { keepdims: 0 } },
      { op: 'Add', inputs: ['u', 'hs'], outputs: ['user_embedding'] },
    ],
  };
  if (!scores) return graph;
  return {
    ...graph,
    name: 'scorer',
    outputs: [{ name: 'scores', dtype: 'float32', shape: ['batch', items] }],
    initializers: [...(graph.initializers ?? []), { name: 'VT', dtype: 'float32', dims: [dim, items], values: vt }],
    nodes: [...graph.nodes, { op: 'MatMul', inputs: ['user_embedding', 'VT'], outputs: ['scores'] }],
  };
}
