/**
 * Runs exported graphs in both runtimes core serves with (onnxruntime-node, and onnxruntime-web's
 * wasm backend, which is what edge deployments get), for parity tests. Kept out of index.ts: the
 * trainer's public API does not pull onnxruntime in.
 */
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';

export type OrtRuntime = 'node' | 'web-wasm';
export const ORT_RUNTIMES: readonly OrtRuntime[] = ['node', 'web-wasm'];

/** A feed value: float32 or int64 data with its dims. */
export interface Feed {
  data: Float32Array | BigInt64Array;
  dims: readonly number[];
}

let webConfigured = false;

function configureWeb(): void {
  if (webConfigured) return;
  // Threads would need worker support and cross-origin isolation; one thread is what tests (and
  // many edge runtimes) get.
  ortWeb.env.wasm.numThreads = 1;
  webConfigured = true;
}

/**
 * The part of an onnxruntime module the runner uses; onnxruntime-node and onnxruntime-web both
 * re-export onnxruntime-common's InferenceSession and Tensor, so one code path serves both.
 */
type OrtModule = Pick<typeof ortNode, 'InferenceSession' | 'Tensor'>;

/** Runs `model` once and returns every requested output as float32 data with its dims. */
export async function runModel(
  runtime: OrtRuntime,
  model: Uint8Array,
  feeds: Readonly<Record<string, Feed>>,
  outputs: readonly string[],
): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
  if (runtime === 'web-wasm') configureWeb();
  const ort: OrtModule = runtime === 'node' ? ortNode : ortWeb;
  const session = await ort.InferenceSession.create(model, { executionProviders: [runtime === 'node' ? 'cpu' : 'wasm'] });
  try {
    const inputs: Record<string, ortNode.Tensor> = {};
    for (const [name, f] of Object.entries(feeds)) {
      inputs[name] = f.data instanceof Float32Array ? new ort.Tensor('float32', f.data, f.dims) : new ort.Tensor('int64', f.data, f.dims);
    }
    const out = await session.run(inputs, [...outputs]);
    const result: Record<string, { data: Float32Array; dims: number[] }> = {};
    for (const name of outputs) {
      const t = out[name];
      if (!t) throw new Error(`missing output ${name}`);
      result[name] = { data: Float32Array.from(t.data as Float32Array), dims: [...t.dims] };
    }
    return result;
  } finally {
    await session.release();
  }
}

/** Pads histories into the contract's [batch, length] int64 layout with `pad` (= items.count). */
export function padHistories(histories: readonly ArrayLike<number>[], pad: number, minLength = 0): Feed {
  const length = Math.max(minLength, ...histories.map((h) => h.length));
  const data = new BigInt64Array(histories.length * length).fill(BigInt(pad));
  histories.forEach((h, b) => {
    for (let k = 0; k < h.length; k++) data[b * length + k] = BigInt(h[k] ?? pad);
  });
  return { data, dims: [histories.length, length] };
}

export function int64Feed(values: ArrayLike<number>): Feed {
  return { data: BigInt64Array.from(Array.from(values), (v) => BigInt(v)), dims: [values.length] };
}

/** Histories as core feeds a user graph's `history` input: [batch, longest] int64, left-padded with `pad`, most recent item last. */
export function leftPaddedFeed(histories: readonly Int32Array[], pad: number): Feed {
  const length = Math.max(1, ...histories.map((h) => h.length));
  const data = new BigInt64Array(histories.length * length).fill(BigInt(pad));
  histories.forEach((h, b) => h.forEach((item, k) => (data[b * length + length - h.length + k] = BigInt(item))));
  return { data, dims: [histories.length, length] };
}
