import { TastemakerError } from '@tastemaker/core';
import { DTYPE_BYTES, type DType, type TensorData, dtypeFromOnnx } from './dtypes.js';
import { onnxType } from './schema.js';

/**
 * Plain-object shapes of the ONNX messages in protobufjs' (snake_case, proto) field naming. int64
 * fields are written as safe-integer numbers (or protobufjs Longs beyond 2^53) and read back as numbers.
 */
export type Int64 = number | { low: number; high: number; unsigned: boolean };

export interface OnnxTensorProto {
  name?: string;
  dims?: Int64[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: Int64[];
  double_data?: number[];
  uint64_data?: Int64[];
  doc_string?: string;
}

export interface OnnxTensorShapeDimension {
  dim_value?: Int64;
  dim_param?: string;
  denotation?: string;
}

export interface OnnxTypeProto {
  tensor_type?: { elem_type?: number; shape?: { dim?: OnnxTensorShapeDimension[] } };
  sequence_type?: { elem_type?: OnnxTypeProto };
  optional_type?: { elem_type?: OnnxTypeProto };
  denotation?: string;
}

export interface OnnxValueInfoProto {
  name?: string;
  type?: OnnxTypeProto;
  doc_string?: string;
}

export interface OnnxAttributeProto {
  name?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: OnnxTensorProto;
  g?: OnnxGraphProto;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
  tensors?: OnnxTensorProto[];
  graphs?: OnnxGraphProto[];
  doc_string?: string;
}

export interface OnnxNodeProto {
  name?: string;
  op_type?: string;
  domain?: string;
  input?: string[];
  output?: string[];
  attribute?: OnnxAttributeProto[];
  doc_string?: string;
}

export interface OnnxGraphProto {
  name?: string;
  node?: OnnxNodeProto[];
  initializer?: OnnxTensorProto[];
  input?: OnnxValueInfoProto[];
  output?: OnnxValueInfoProto[];
  value_info?: OnnxValueInfoProto[];
  doc_string?: string;
}

export interface OnnxModelProto {
  ir_version?: Int64;
  opset_import?: { domain?: string; version?: Int64 }[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: Int64;
  doc_string?: string;
  graph?: OnnxGraphProto;
  metadata_props?: { key?: string; value?: string }[];
}

/** An int64 field value as a bigint. */
export function int64ToBigInt(v: Int64): bigint {
  if (typeof v === 'number') return BigInt(v);
  const big = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return v.unsigned ? big : BigInt.asIntN(64, big);
}

/** Encodes a ModelProto object; protobufjs checks field types on the way. */
export function encodeModelProto(model: OnnxModelProto): Uint8Array {
  const type = onnxType('ModelProto');
  const problem = type.verify(model);
  if (problem) throw new TastemakerError('INTERNAL', `ONNX ModelProto does not match the schema: ${problem}`);
  const bytes = type.encode(type.fromObject(model)).finish();
  // Node's protobufjs hands back a Buffer; callers get a plain Uint8Array view of the same bytes.
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes .onnx bytes (any producer) into plain objects; unknown fields are skipped. */
export function decodeModel(bytes: Uint8Array): OnnxModelProto {
  const type = onnxType('ModelProto');
  let message;
  try {
    message = type.decode(bytes);
  } catch (cause) {
    throw new TastemakerError('INVALID_ARGUMENT', `Not an ONNX model: ${(cause as Error).message}`, {}, { cause });
  }
  return type.toObject(message, { longs: Number, arrays: false, defaults: false }) as OnnxModelProto;
}

/** The contents of a TensorProto as a typed array (raw_data or the typed *_data fields). */
export function readTensor(t: OnnxTensorProto): { dtype: DType; dims: number[]; data: TensorData } {
  const dtype = dtypeFromOnnx(t.data_type ?? 0);
  if (!dtype) throw new TastemakerError('BUNDLE_UNSUPPORTED', `Tensor ${t.name ?? ''} has unsupported data type ${t.data_type}.`);
  const dims = (t.dims ?? []).map((d) => Number(int64ToBigInt(d)));
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = t.raw_data;
  if (raw && raw.length > 0) {
    // Copy so the typed array is aligned and does not alias the decoder's buffer. raw_data is
    // little-endian, as is every host Node and browsers run on.
    const buffer = raw.slice().buffer;
    return { dtype, dims, data: typedArrayOf(dtype, buffer, count) };
  }
  switch (dtype) {
    case 'float32':
      return { dtype, dims, data: Float32Array.from(t.float_data ?? []) };
    case 'float64':
      return { dtype, dims, data: Float64Array.from(t.double_data ?? []) };
    case 'int64':
      return { dtype, dims, data: BigInt64Array.from(t.int64_data ?? [], int64ToBigInt) };
    case 'uint64':
      return { dtype, dims, data: BigUint64Array.from(t.uint64_data ?? [], (v) => BigInt.asUintN(64, int64ToBigInt(v))) };
    case 'uint32':
      // onnx.proto stores uint32 in uint64_data.
      return { dtype, dims, data: Uint32Array.from(t.uint64_data ?? [], (v) => Number(int64ToBigInt(v))) };
    default: {
      // int32_data carries every narrower integer type and bool, one element per entry.
      const data = typedArrayOf(dtype, new ArrayBuffer(count * DTYPE_BYTES[dtype]), count);
      const ints = t.int32_data ?? [];
      for (let k = 0; k < count; k++) (data as Int32Array)[k] = ints[k] ?? 0;
      return { dtype, dims, data };
    }
  }
}

function typedArrayOf(dtype: DType, buffer: ArrayBuffer, count: number): TensorData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, 0, count);
    case 'float64':
      return new Float64Array(buffer, 0, count);
    case 'int8':
      return new Int8Array(buffer, 0, count);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, 0, count);
    case 'int16':
      return new Int16Array(buffer, 0, count);
    case 'uint16':
      return new Uint16Array(buffer, 0, count);
    case 'int32':
      return new Int32Array(buffer, 0, count);
    case 'uint32':
      return new Uint32Array(buffer, 0, count);
    case 'int64':
      return new BigInt64Array(buffer, 0, count);
    case 'uint64':
      return new BigUint64Array(buffer, 0, count);
  }
}
