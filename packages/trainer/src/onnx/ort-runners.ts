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

/** Runs `model` once and returns every requested output as float32 data with its dims. */
export async function runModel(
  runtime: OrtRuntime,
  model: Uint8Array,
  feeds: Readonly<Record<string, Feed>>,
  outputs: readonly string[],
): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
  const result: Record<string, { data: Float32Array; dims: number[] }> = {};
  if (runtime === 'node') {
    const session = await ortNode.InferenceSession.create(model, { executionProviders: ['cpu'] });
    try {
      const inputs: Record<string, ortNode.Tensor> = {};
      for (const [name, f] of Object.entries(feeds)) {
        inputs[name] = f.data instanceof Float32Array ? new ortNode.Tensor('float32', f.data, f.dims) : new ortNode.Tensor('int64', f.data, f.dims);
      }
      const out = await session.run(inputs, [...outputs]);
      for (const name of outputs) {
        const t = out[name];
        if (!t) throw new Error(`missing output ${name}`);
        result[name] = { data: Float32Array.from(t.data as Float32Array), dims: [...t.dims] };
      }
    } finally {
      await session.release();
    }
    return result;
  }
  configureWeb();
  const session = await ortWeb.InferenceSession.create(model, { executionProviders: ['wasm'] });
  try {
    const inputs: Record<string, ortWeb.Tensor> = {};
    for (const [name, f] of Object.entries(feeds)) {
      inputs[name] = f.data instanceof Float32Array ? new ortWeb.Tensor('float32', f.data, f.dims) : new ortWeb.Tensor('int64', f.data, f.dims);
    }
    const out = await session.run(inputs, [...outputs]);
    for (const name of outputs) {
      const t = out[name];
      if (!t) throw new Error(`missing output ${name}`);
      result[name] = { data: Float32Array.from(t.data as Float32Array), dims: [...t.dims] };
    }
  } finally {
    await session.release();
  }
  return result;
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
