import { TastemakerError } from '@tastemaker/core';
import { OnnxDataType } from './schema.js';

/**
 * Element types the builder can declare, named like onnxruntime's tensor types (and core's
 * manifest `TensorDtype`, a subset) so signatures read the same on both sides of the bundle.
 */
export type DType = 'float32' | 'float64' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool';

export const ONNX_DATA_TYPE: Readonly<Record<DType, number>> = {
  float32: OnnxDataType.FLOAT,
  float64: OnnxDataType.DOUBLE,
  int8: OnnxDataType.INT8,
  uint8: OnnxDataType.UINT8,
  int16: OnnxDataType.INT16,
  uint16: OnnxDataType.UINT16,
  int32: OnnxDataType.INT32,
  uint32: OnnxDataType.UINT32,
  int64: OnnxDataType.INT64,
  uint64: OnnxDataType.UINT64,
  bool: OnnxDataType.BOOL,
};

export const DTYPES = Object.keys(ONNX_DATA_TYPE) as DType[];

/** Typed arrays whose bytes can become a tensor's raw_data. */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/**
 * The dtype a typed array stands for. Uint8Array is ambiguous (uint8 or bool): pass the dtype
 * explicitly for bool.
 */
export function dtypeOf(data: TensorData): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof BigInt64Array) return 'int64';
  return 'uint64';
}

/** Bytes per element, to check that data and dtype agree. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  float32: 4,
  float64: 8,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  bool: 1,
};

export function onnxDataType(dtype: DType): number {
  const t = ONNX_DATA_TYPE[dtype];
  if (t === undefined) {
    throw new TastemakerError('INVALID_ARGUMENT', `Unknown dtype ${JSON.stringify(dtype)}. Valid values: ${DTYPES.join(', ')}.`, {
      dtype,
      valid: DTYPES,
    });
  }
  return t;
}

export function dtypeFromOnnx(dataType: number): DType | undefined {
  return DTYPES.find((d) => ONNX_DATA_TYPE[d] === dataType);
}

/** True on little-endian hosts, where a typed array's buffer already is ONNX raw_data. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The little-endian bytes of `data`, as ONNX raw_data requires. On little-endian hosts (every
 * platform Node and browsers ship on) this is a view, not a copy.
 */
export function littleEndianBytes(data: TensorData): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1) return view;
  const out = new Uint8Array(view.length);
  const width = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < view.length; i += width) {
    for (let k = 0; k < width; k++) out[i + k] = view[i + width - 1 - k] ?? 0;
  }
  return out;
}
