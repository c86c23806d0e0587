import { TastemakerError } from '@tastemaker/core';
import { DTYPE_BYTES, type DType, type TensorData, dtypeOf, littleEndianBytes, onnxDataType } from './dtypes.js';
import { OnnxAttributeType } from './schema.js';
import { type Int64, type OnnxAttributeProto, type OnnxGraphProto, type OnnxModelProto, type OnnxTensorProto, type OnnxValueInfoProto, encodeModelProto } from './codec.js';

/** Opset and IR version exports target unless told otherwise: readable by onnxruntime >= 1.14. */
export const DEFAULT_OPSET = 17;
export const DEFAULT_IR_VERSION = 8;

/** A dimension: a fixed size, or a symbolic name such as "batch" that binds at run time. */
export type Dim = number | string;

/** Protobuf refuses messages of 2 GiB or more; ONNX then needs external data, which we do not write. */
const MAX_MODEL_BYTES = 2 ** 31 - 1;

/** Constants up to this many elements are shared when built twice with the same contents. */
const DEDUPE_MAX_ELEMENTS = 64;

/**
 * A named tensor in a graph: a graph input, an initializer or a node output. Nodes hold Values, not
 * names, and names are read only when the graph is serialised, so `output()` can rename a node's
 * result to its contract name without rewriting its consumers.
 */
export class Value {
  /** @internal */
  constructor(
    readonly graph: GraphBuilder,
    private currentName: string,
    readonly source: 'input' | 'initializer' | 'node',
    public dtype?: DType,
    public shape?: readonly Dim[],
  ) {}

  get name(): string {
    return this.currentName;
  }

  /** @internal */
  rename(name: string): void {
    this.currentName = name;
  }
}

/** A declared graph input or output, in the form the bundle manifest records. */
export interface TensorSignature {
  name: string;
  dtype: DType;
  shape: Dim[];
}

export interface GraphSignature {
  inputs: TensorSignature[];
  outputs: TensorSignature[];
}

/**
 * An attribute whose ONNX type is spelled out. JavaScript has one number type, so `1` is inferred
 * as an INT; use `attr.float(1)` where the operator wants a FLOAT (e.g. epsilon, alpha).
 */
export type TypedAttribute =
  | { readonly attrType: 'float'; readonly value: number }
  | { readonly attrType: 'int'; readonly value: number | bigint }
  | { readonly attrType: 'string'; readonly value: string | Uint8Array }
  | { readonly attrType: 'floats'; readonly value: readonly number[] }
  | { readonly attrType: 'ints'; readonly value: readonly (number | bigint)[] }
  | { readonly attrType: 'strings'; readonly value: readonly (string | Uint8Array)[] }
  | { readonly attrType: 'tensor'; readonly value: TensorData; readonly shape: readonly number[]; readonly dtype: DType }
  | { readonly attrType: 'graph'; readonly value: GraphBuilder };

/**
 * Attribute values: inferred from the JavaScript value (integer number or bigint → INT, other
 * number → FLOAT, string or bytes → STRING, arrays likewise, a GraphBuilder → GRAPH), or typed
 * explicitly with the `attr` helpers.
 */
export type AttributeValue =
  | number
  | bigint
  | string
  | Uint8Array
  | readonly (number | bigint)[]
  | readonly string[]
  | GraphBuilder
  | TypedAttribute;

export type Attributes = Readonly<Record<string, AttributeValue | undefined>>;

export const attr = {
  float: (value: number): TypedAttribute => ({ attrType: 'float', value }),
  int: (value: number | bigint): TypedAttribute => ({ attrType: 'int', value }),
  string: (value: string | Uint8Array): TypedAttribute => ({ attrType: 'string', value }),
  floats: (value: readonly number[]): TypedAttribute => ({ attrType: 'floats', value }),
  ints: (value: readonly (number | bigint)[]): TypedAttribute => ({ attrType: 'ints', value }),
  strings: (value: readonly (string | Uint8Array)[]): TypedAttribute => ({ attrType: 'strings', value }),
  tensor: (value: TensorData, shape: readonly number[], dtype: DType = dtypeOf(value)): TypedAttribute => ({
    attrType: 'tensor',
    value,
    shape,
    dtype,
  }),
  graph: (value: GraphBuilder): TypedAttribute => ({ attrType: 'graph', value }),
};

export interface OpOptions {
  /** node name, and the base of its output names; defaults to the op type */
  name?: string;
  /** operator domain; '' (the default) is the standard ai.onnx set */
  domain?: string;
  docString?: string;
}

export interface ModelOptions {
  /** must equal the builder's opset when given; kept so call sites can state the target */
  opset?: number;
  irVersion?: number;
  producer?: string;
  producerVersion?: string;
  modelVersion?: number;
  docString?: string;
  /** free-form key/values stored in ModelProto.metadata_props (readable via onnxruntime's session metadata) */
  metadata?: Readonly<Record<string, string>>;
}

export interface GraphBuilderOptions {
  /** default-domain opset the graph targets; helpers in layers.ts choose operator forms from it */
  opset?: number;
  /** opsets of other domains the graph uses, e.g. { 'com.microsoft': 1 } */
  domains?: Readonly<Record<string, number>>;
  docString?: string;
  /** makes this a subgraph (If/Loop/Scan body) that may read values of its ancestors */
  parent?: GraphBuilder;
}

interface Initializer {
  value: Value;
  data: TensorData;
  dtype: DType;
  dims: number[];
}

interface Node {
  opType: string;
  domain: string;
  name: string;
  inputs: (Value | null)[];
  outputs: Value[];
  attributes: [string, TypedAttribute][];
  docString: string | undefined;
}

interface DeclaredTensor {
  value: Value;
  dtype: DType;
  shape: Dim[];
}

function invalid(message: string, details: Record<string, unknown> = {}): TastemakerError {
  return new TastemakerError('INVALID_ARGUMENT', message, details);
}

/** Name registry shared by a graph and its subgraphs: ONNX forbids a subgraph shadowing an outer name. */
class NameScope {
  private readonly taken = new Set<string>();
  private readonly counters = new Map<string, number>();

  has(name: string): boolean {
    return this.taken.has(name);
  }

  claim(name: string): void {
    if (this.taken.has(name)) throw invalid(`Duplicate tensor name ${JSON.stringify(name)} in ONNX graph.`, { name });
    this.taken.add(name);
  }

  release(name: string): void {
    this.taken.delete(name);
  }

  /** `base` if free, else `base_1`, `base_2`, … */
  fresh(base: string): string {
    let n = this.counters.get(base) ?? 0;
    let name = n === 0 ? base : `${base}_${n}`;
    while (this.taken.has(name)) name = `${base}_${++n}`;
    this.counters.set(base, n + 1);
    this.taken.add(name);
    return name;
  }
}

/**
 * Builds one ONNX graph and serialises it as a ModelProto.
 *
 * ```ts
 * const g = new GraphBuilder('user_tower');
 * const history = g.input('history', 'int64', ['batch', 'length']);
 * const table = g.initializer('items_emb', values, [n, d]);
 * const rows = g.op('Gather', [table, history], { axis: 0 });
 * g.output(g.op('ReduceSum', [rows, g.int64([1])], { keepdims: 0 }), 'user_embedding', 'float32', ['batch', d]);
 * const bytes = g.toModel({ producer: 'tastemaker' });
 * ```
 *
 * Nodes are recorded in creation order, which is a topological order because an op can only take
 * Values that already exist.
 */
export class GraphBuilder {
  readonly name: string;
  readonly opset: number;
  readonly parent: GraphBuilder | undefined;
  private readonly domains: Map<string, number>;
  private readonly docString: string | undefined;
  private readonly scope: NameScope;
  private readonly inputs: DeclaredTensor[] = [];
  private readonly outputs: DeclaredTensor[] = [];
  private readonly initializers: Initializer[] = [];
  private readonly nodes: Node[] = [];
  private readonly constants = new Map<string, Value>();

  constructor(name: string, options: GraphBuilderOptions = {}) {
    if (!name) throw invalid('A graph needs a name.');
    this.name = name;
    this.parent = options.parent;
    this.opset = options.opset ?? options.parent?.opset ?? DEFAULT_OPSET;
    if (!Number.isInteger(this.opset) || this.opset < 1) throw invalid(`Invalid opset ${this.opset}.`, { opset: this.opset });
    this.domains = new Map(Object.entries(options.domains ?? {}));
    this.docString = options.docString;
    this.scope = options.parent ? options.parent.scope : new NameScope();
  }

  /** Declares a graph input. Its name is part of the contract, so it is used exactly. */
  input(name: string, dtype: DType, shape: readonly Dim[]): Value {
    onnxDataType(dtype);
    this.scope.claim(name);
    const value = new Value(this, name, 'input', dtype, [...shape]);
    this.inputs.push({ value, dtype, shape: [...shape] });
    return value;
  }

  /**
   * A constant tensor stored in the model (weights, lookup tables). `data` is row-major; its dtype
   * follows the typed array unless given (needed for bool, stored as one byte per element). The
   * array is not copied (tables can be hundreds of MB) and is read when the model is serialised.
   */
  initializer(name: string, data: TensorData, shape: readonly number[], dtype: DType = dtypeOf(data)): Value {
    checkTensor(name, data, shape, dtype);
    this.scope.claim(name);
    return this.addInitializer(name, data, shape, dtype);
  }

  private addInitializer(name: string, data: TensorData, shape: readonly number[], dtype: DType): Value {
    const value = new Value(this, name, 'initializer', dtype, [...shape]);
    this.initializers.push({ value, data, dtype, dims: [...shape] });
    return value;
  }

  /**
   * An unnamed constant (an initializer with a generated name). Small constants with the same
   * dtype, shape and contents are shared, so helpers can ask for `[1]` freely.
   */
  constant(data: TensorData, shape: readonly number[], dtype: DType = dtypeOf(data)): Value {
    checkTensor('constant', data, shape, dtype);
    let key: string | undefined;
    if (data.length <= DEDUPE_MAX_ELEMENTS) {
      key = `${dtype}|${shape.join('x')}|${Array.from(data as ArrayLike<number | bigint>, String).join(',')}`;
      const hit = this.constants.get(key);
      if (hit) return hit;
    }
    // Small constants are copied: a caller reusing its scratch array must not change a shared one.
    const value = this.addInitializer(this.scope.fresh('const'), key === undefined ? data : data.slice(), shape, dtype);
    if (key !== undefined) this.constants.set(key, value);
    return value;
  }

  /** An int64 constant: a scalar from a number, a 1-D tensor from an array (e.g. axes, shapes). */
  int64(values: number | readonly number[], shape?: readonly number[]): Value {
    const list = typeof values === 'number' ? [values] : values;
    for (const v of list) {
      if (!Number.isSafeInteger(v)) throw invalid(`int64 constant ${v} is not a safe integer.`, { value: v });
    }
    return this.constant(BigInt64Array.from(list, (v) => BigInt(v)), shape ?? (typeof values === 'number' ? [] : [list.length]));
  }

  /** A float32 constant: a scalar from a number, a 1-D tensor from an array. */
  float32(values: number | readonly number[], shape?: readonly number[]): Value {
    const list = typeof values === 'number' ? [values] : values;
    return this.constant(Float32Array.from(list), shape ?? (typeof values === 'number' ? [] : [list.length]));
  }

  /** Adds a node with one output and returns it. Pass `null` for an omitted optional input. */
  op(opType: string, inputs: readonly (Value | null)[], attributes: Attributes = {}, options: OpOptions = {}): Value {
    const [out] = this.opMulti(opType, inputs, 1, attributes, options);
    if (!out) throw new TastemakerError('INTERNAL', 'opMulti returned no output.');
    return out;
  }

  /** Adds a node with `outputCount` outputs (Split, TopK, GRU, …). */
  opMulti(
    opType: string,
    inputs: readonly (Value | null)[],
    outputCount: number,
    attributes: Attributes = {},
    options: OpOptions = {},
  ): Value[] {
    if (!opType) throw invalid('An op needs an op type.');
    if (!Number.isInteger(outputCount) || outputCount < 1) throw invalid(`Invalid output count ${outputCount} for ${opType}.`);
    for (const [i, input] of inputs.entries()) {
      if (input && !this.canRead(input)) {
        throw invalid(`Input ${i} of ${opType} (${JSON.stringify(input.name)}) belongs to graph ${JSON.stringify(input.graph.name)}, not ${JSON.stringify(this.name)} or its ancestors.`, {
          opType,
          input: input.name,
        });
      }
    }
    // Typed now rather than at serialisation, so a bad attribute fails at the op that has it.
    const attrs: [string, TypedAttribute][] = [];
    for (const [key, v] of Object.entries(attributes)) if (v !== undefined) attrs.push([key, typed(v, key)]);
    const domain = options.domain ?? '';
    if (domain !== '' && domain !== 'ai.onnx' && !this.rootDomains().has(domain)) {
      throw invalid(`Op ${opType} uses domain ${JSON.stringify(domain)}, which the graph does not import; pass it in GraphBuilderOptions.domains.`, {
        domain,
      });
    }
    const base = options.name ?? opType;
    const name = this.scope.fresh(base);
    const outputs: Value[] = [];
    for (let k = 0; k < outputCount; k++) {
      // The node name and its single output may share a string: nodes and values are separate namespaces.
      outputs.push(new Value(this, k === 0 ? name : this.scope.fresh(`${name}_out${k}`), 'node'));
    }
    this.nodes.push({ opType, domain, name, inputs: [...inputs], outputs, attributes: attrs, docString: options.docString });
    return outputs;
  }

  /**
   * Declares `value` as a graph output named `name`. A node result not yet exposed is renamed in
   * place; anything else (an input, an initializer, a value already output) goes through Identity.
   */
  output(value: Value, name: string, dtype: DType, shape: readonly Dim[]): Value {
    onnxDataType(dtype);
    if (!this.canRead(value)) throw invalid(`Value ${JSON.stringify(value.name)} does not belong to graph ${JSON.stringify(this.name)}.`);
    let out = value;
    if (value.name !== name) {
      const renamable = value.graph === this && value.source === 'node' && !this.outputs.some((o) => o.value === value);
      if (this.scope.has(name)) throw invalid(`Output name ${JSON.stringify(name)} is already used in graph ${JSON.stringify(this.name)}.`, { name });
      if (renamable) {
        this.scope.release(value.name);
        this.scope.claim(name);
        value.rename(name);
      } else {
        out = this.op('Identity', [value], {}, { name });
        if (out.name !== name) throw new TastemakerError('INTERNAL', `Could not name output ${name}.`);
      }
    } else if (this.outputs.some((o) => o.value === value)) {
      throw invalid(`Output ${JSON.stringify(name)} is declared twice.`, { name });
    }
    out.dtype = dtype;
    out.shape = [...shape];
    this.outputs.push({ value: out, dtype, shape: [...shape] });
    return out;
  }

  /** Inputs and outputs as declared, for the bundle manifest and for signature checks. */
  signature(): GraphSignature {
    const copy = (t: DeclaredTensor): TensorSignature => ({ name: t.value.name, dtype: t.dtype, shape: [...t.shape] });
    return { inputs: this.inputs.map(copy), outputs: this.outputs.map(copy) };
  }

  /** Number of nodes so far (tests and diagnostics). */
  get nodeCount(): number {
    return this.nodes.length;
  }

  /** The GraphProto as a plain object in protobufjs' field naming. */
  toGraphProto(): OnnxGraphProto {
    if (this.outputs.length === 0) throw invalid(`Graph ${JSON.stringify(this.name)} has no outputs.`);
    return {
      name: this.name,
      ...(this.docString ? { doc_string: this.docString } : {}),
      input: this.inputs.map(valueInfo),
      output: this.outputs.map(valueInfo),
      initializer: this.initializers.map((init) => tensorProto(init.value.name, init.data, init.dims, init.dtype)),
      node: this.nodes.map((node) => ({
        name: node.name,
        op_type: node.opType,
        ...(node.domain ? { domain: node.domain } : {}),
        ...(node.docString ? { doc_string: node.docString } : {}),
        // An empty name marks an omitted optional input, as ONNX specifies.
        input: node.inputs.map((v) => (v ? v.name : '')),
        output: node.outputs.map((v) => v.name),
        attribute: node.attributes.map(([name, v]) => attributeProto(name, v)),
      })),
    };
  }

  /** The ModelProto as a plain object (see `toModel` for the bytes). */
  toModelProto(options: ModelOptions = {}): OnnxModelProto {
    if (this.parent) throw invalid(`Graph ${JSON.stringify(this.name)} is a subgraph; serialise its root graph.`);
    if (options.opset !== undefined && options.opset !== this.opset) {
      throw invalid(
        `Graph ${JSON.stringify(this.name)} was built for opset ${this.opset} but toModel asked for ${options.opset}; operator forms differ between opsets, so pass the opset to the GraphBuilder.`,
        { built: this.opset, requested: options.opset },
      );
    }
    const opsetImport = [{ domain: '', version: this.opset }];
    for (const [domain, version] of this.domains) opsetImport.push({ domain, version });
    return {
      ir_version: options.irVersion ?? DEFAULT_IR_VERSION,
      opset_import: opsetImport,
      producer_name: options.producer ?? 'tastemaker',
      ...(options.producerVersion ? { producer_version: options.producerVersion } : {}),
      ...(options.modelVersion !== undefined ? { model_version: options.modelVersion } : {}),
      ...(options.docString ? { doc_string: options.docString } : {}),
      graph: this.toGraphProto(),
      metadata_props: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    };
  }

  /** Serialises the model: the bytes of an .onnx file. */
  toModel(options: ModelOptions = {}): Uint8Array {
    const bytes = encodeModelProto(this.toModelProto(options));
    if (bytes.length > MAX_MODEL_BYTES) {
      throw invalid(`Graph ${JSON.stringify(this.name)} is ${bytes.length} bytes; ONNX models must stay under 2 GiB without external data.`, {
        bytes: bytes.length,
      });
    }
    return bytes;
  }

  private canRead(value: Value): boolean {
    for (let g: GraphBuilder | undefined = this; g; g = g.parent) if (value.graph === g) return true;
    return false;
  }

  private rootDomains(): Map<string, number> {
    let g: GraphBuilder = this;
    while (g.parent) g = g.parent;
    return g.domains;
  }
}

function checkTensor(name: string, data: TensorData, shape: readonly number[], dtype: DType): void {
  onnxDataType(dtype);
  let count = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw invalid(`Tensor ${JSON.stringify(name)} has an invalid dimension ${d} in shape [${shape.join(', ')}].`);
    count *= d;
  }
  if (data.length !== count) {
    throw invalid(`Tensor ${JSON.stringify(name)} has ${data.length} elements but shape [${shape.join(', ')}] needs ${count}.`, {
      name,
      elements: data.length,
      shape: [...shape],
    });
  }
  if (DTYPE_BYTES[dtype] !== data.BYTES_PER_ELEMENT) {
    throw invalid(`Tensor ${JSON.stringify(name)}: a ${data.constructor.name} cannot hold ${dtype}.`, { name, dtype });
  }
}

function valueInfo(t: DeclaredTensor): OnnxValueInfoProto {
  return {
    name: t.value.name,
    type: {
      tensor_type: {
        elem_type: onnxDataType(t.dtype),
        shape: { dim: t.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

function tensorProto(name: string, data: TensorData, dims: readonly number[], dtype: DType): OnnxTensorProto {
  return { ...(name ? { name } : {}), dims: [...dims], data_type: onnxDataType(dtype), raw_data: littleEndianBytes(data) };
}

/** int64 fields take safe-integer numbers, or Longs for bigints beyond 2^53. */
function int64Field(v: number | bigint): Int64 {
  if (typeof v === 'bigint') {
    if (BigInt.asIntN(64, v) !== v) throw invalid(`Integer attribute value ${v} does not fit int64.`);
    if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
    // protobufjs takes any { low, high, unsigned } as a Long.
    const bits = BigInt.asUintN(64, v);
    return { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0, unsigned: false };
  }
  if (!Number.isSafeInteger(v)) throw invalid(`Integer attribute value ${v} is not a safe integer.`);
  return v;
}

function utf8(v: string | Uint8Array): Uint8Array {
  return typeof v === 'string' ? new TextEncoder().encode(v) : v;
}

function typed(v: AttributeValue, name: string): TypedAttribute {
  if (v instanceof GraphBuilder) return attr.graph(v);
  if (typeof v === 'number') return Number.isInteger(v) ? attr.int(v) : attr.float(v);
  if (typeof v === 'bigint') return attr.int(v);
  if (typeof v === 'string' || v instanceof Uint8Array) return attr.string(v);
  if (Array.isArray(v)) {
    const list: readonly unknown[] = v;
    if (list.length === 0) throw invalid(`Attribute ${name} is an empty list, whose type cannot be inferred; use attr.ints([]) or attr.floats([]).`);
    if (list.every((x) => typeof x === 'string')) return attr.strings(list as string[]);
    if (list.every((x) => typeof x === 'bigint' || (typeof x === 'number' && Number.isInteger(x)))) return attr.ints(list as (number | bigint)[]);
    if (list.every((x) => typeof x === 'number')) return attr.floats(list as number[]);
    throw invalid(`Attribute ${name} mixes value types.`);
  }
  return v as TypedAttribute;
}

function attributeProto(name: string, v: TypedAttribute): OnnxAttributeProto {
  const T = OnnxAttributeType;
  switch (v.attrType) {
    case 'float':
      return { name, type: T.FLOAT, f: v.value };
    case 'int':
      return { name, type: T.INT, i: int64Field(v.value) };
    case 'string':
      return { name, type: T.STRING, s: utf8(v.value) };
    case 'floats':
      return { name, type: T.FLOATS, floats: [...v.value] };
    case 'ints':
      return { name, type: T.INTS, ints: v.value.map(int64Field) };
    case 'strings':
      return { name, type: T.STRINGS, strings: v.value.map(utf8) };
    case 'tensor':
      checkTensor(name, v.value, v.shape, v.dtype);
      return { name, type: T.TENSOR, t: tensorProto('', v.value, v.shape, v.dtype) };
    case 'graph':
      return { name, type: T.GRAPH, g: v.value.toGraphProto() };
  }
}
