import type { LoadedBundle } from '../bundle/load-bundle.js';
import type { TensorSpec } from '../bundle/manifest.js';
import { BundleError, TastemakerError } from '../errors/index.js';
import type { GraphSession, InferenceBackend, TensorData } from '../inference/types.js';

/**
 * Opens one graph of a verified bundle on a backend. A runtime that cannot load it is a broken
 * bundle, so its error becomes a BundleError naming the file; our own typed errors pass through.
 */
export async function openBundleGraph(bundle: LoadedBundle, backend: InferenceBackend, file: string, graphName: string, what: string): Promise<GraphSession> {
  const bytes = bundle.files.get(file);
  if (bytes === undefined) throw new BundleError('BUNDLE_INVALID', `${file}: ${what} file was not loaded`, { file });
  try {
    return await backend.createSession(bytes, graphName);
  } catch (cause) {
    if (cause instanceof TastemakerError) throw cause;
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new BundleError('BUNDLE_INVALID', `${file}: ${backend.name} could not load the ${what}: ${reason}`, { file }, { cause });
  }
}

/** An index feed in the integer type the graph declares (int64 by the contract, int32 accepted). */
export function intTensor(dtype: TensorSpec['dtype'], values: number[], dims: number[]): TensorData {
  if (dtype === 'int32') return { dtype: 'int32', data: Int32Array.from(values), dims };
  return { dtype: 'int64', data: BigInt64Array.from(values, (v) => BigInt(v)), dims };
}
