import { TastemakerError } from '../errors/index.js';
import type { GraphSession, TensorData, ValueInfo } from './types.js';

/*
 * onnxruntime-node and onnxruntime-web share onnxruntime-common's API but each ships its own Tensor
 * class. These structural types let one adapter serve both without core depending on either's
 * types in the edge graph.
 */
export interface OrtTensorLike {
  readonly type: string;
  readonly data: unknown;
  readonly dims: readonly number[];
  dispose?(): void;
}

export interface OrtValueMetadataLike {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}

export interface OrtSessionLike<T extends OrtTensorLike> {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly OrtValueMetadataLike[];
  readonly outputMetadata?: readonly OrtValueMetadataLike[];
  run(feeds: Record<string, T>): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

/** The Tensor constructor overloads core feeds (onnxruntime-common's, which both runtimes re-export). */
export interface OrtTensorConstructor<T> {
  new (type: 'float32', data: Float32Array, dims: readonly number[]): T;
  new (type: 'int64', data: BigInt64Array, dims: readonly number[]): T;
  new (type: 'int32', data: Int32Array, dims: readonly number[]): T;
  new (type: 'bool', data: Uint8Array, dims: readonly number[]): T;
}

export function toOrtTensor<T>(Tensor: OrtTensorConstructor<T>, t: TensorData): T {
  const dims = [...t.dims];
  switch (t.dtype) {
    case 'float32':
      return new Tensor('float32', t.data, dims);
    case 'int64':
      return new Tensor('int64', t.data, dims);
    case 'int32':
      return new Tensor('int32', t.data, dims);
    case 'bool':
      return new Tensor('bool', t.data, dims);
  }
}

export function fromOrtTensor(name: string, t: OrtTensorLike): TensorData {
  const dims = [...t.dims];
  if (t.type === 'float32' && t.data instanceof Float32Array) return { dtype: 'float32', data: t.data, dims };
  if (t.type === 'int64' && t.data instanceof BigInt64Array) return { dtype: 'int64', data: t.data, dims };
  if (t.type === 'int32' && t.data instanceof Int32Array) return { dtype: 'int32', data: t.data, dims };
  if (t.type === 'bool' && t.data instanceof Uint8Array) return { dtype: 'bool', data: t.data, dims };
  throw new TastemakerError('BUNDLE_UNSUPPORTED', `Output ${name} has type ${t.type}, which core does not read`, { output: name, type: t.type });
}

function metadata(list: readonly OrtValueMetadataLike[] | undefined): ValueInfo[] | undefined {
  if (list === undefined) return undefined;
  return list.map((m) => (m.isTensor ? { name: m.name, dtype: m.type, shape: m.shape ? [...m.shape] : undefined } : { name: m.name }));
}

export function wrapOrtSession<T extends OrtTensorLike>(
  session: OrtSessionLike<T>,
  graphName: string,
  provider: string,
  toOrt: (t: TensorData) => T,
): GraphSession {
  let released = false;
  return {
    graphName,
    provider,
    inputNames: [...session.inputNames],
    outputNames: [...session.outputNames],
    inputMetadata: metadata(session.inputMetadata),
    outputMetadata: metadata(session.outputMetadata),
    async run(feeds) {
      if (released) throw new TastemakerError('DISPOSED', `Session for graph ${graphName} has been disposed`);
      const ortFeeds: Record<string, T> = {};
      for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrt(t);
      const out = await session.run(ortFeeds);
      const result: Record<string, TensorData> = {};
      for (const [name, t] of Object.entries(out)) result[name] = fromOrtTensor(name, t);
      return result;
    },
    async dispose() {
      if (released) return;
      released = true;
      await session.release();
    },
  };
}
