/** Tensors crossing the backend boundary, independent of which onnxruntime package runs them. */
export type TensorData =
  | { readonly dtype: 'float32'; readonly data: Float32Array; readonly dims: readonly number[] }
  | { readonly dtype: 'int64'; readonly data: BigInt64Array; readonly dims: readonly number[] }
  | { readonly dtype: 'int32'; readonly data: Int32Array; readonly dims: readonly number[] }
  | { readonly dtype: 'bool'; readonly data: Uint8Array; readonly dims: readonly number[] };

/** What a runtime reports about one graph input or output; dtype/shape only where it exposes them. */
export interface ValueInfo {
  readonly name: string;
  readonly dtype?: string;
  readonly shape?: readonly (number | string)[];
}

/** One loaded graph. */
export interface GraphSession {
  readonly graphName: string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly ValueInfo[];
  readonly outputMetadata?: readonly ValueInfo[];
  /** The execution provider that actually runs this graph, e.g. "cuda", "cpu", "wasm". */
  readonly provider: string;
  run(feeds: Readonly<Record<string, TensorData>>): Promise<Record<string, TensorData>>;
  dispose(): Promise<void>;
}

/** Turns ONNX bytes into sessions on one runtime and device. */
export interface InferenceBackend {
  /** The runtime package, e.g. "onnxruntime-node". */
  readonly name: string;
  /** The device asked for, e.g. "auto". */
  readonly device: string;
  createSession(bytes: Uint8Array, graphName: string): Promise<GraphSession>;
}
