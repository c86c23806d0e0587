// Node only: imported by node.ts, never by the edge entry.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { TastemakerError } from '../errors/index.js';
import { createOnFirstAvailable, providersFor } from './device-table.js';
import { toOrtTensor, wrapOrtSession, type OrtSessionLike } from './ort-session.js';
import type { GraphSession, InferenceBackend, TensorData } from './types.js';

/** Device → onnxruntime-node execution providers, tried in order. */
export const NODE_DEVICES = {
  auto: ['cuda', 'cpu'],
  cpu: ['cpu'],
  cuda: ['cuda'],
} as const satisfies Record<string, readonly string[]>;
export type NodeDevice = keyof typeof NODE_DEVICES;

type OrtNode = typeof import('onnxruntime-node');
type OrtNodeTensor = InstanceType<OrtNode['Tensor']>;

export interface NodeBackendOptions {
  /** A NODE_DEVICES key; other strings (e.g. from a CLI flag) fail with INVALID_CONFIG listing the valid ones. */
  device?: NodeDevice | (string & {});
  /**
   * Threads per session for the cpu provider; onnxruntime's default (all cores) when omitted, which
   * suits large batch runs. createRecommender passes 1 for serving (SERVING_INTRA_OP_THREADS).
   */
  intraOpNumThreads?: number;
}

let ortNodePromise: Promise<OrtNode> | undefined;
function loadOrtNode(): Promise<OrtNode> {
  ortNodePromise ??= import('onnxruntime-node').catch((cause: unknown) => {
    ortNodePromise = undefined;
    throw new TastemakerError('DEVICE_UNAVAILABLE', 'onnxruntime-node could not be loaded', { runtime: 'onnxruntime-node' }, { cause });
  });
  return ortNodePromise;
}

const CUDA_PROVIDER_LIBRARY: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'libonnxruntime_providers_cuda.so',
  win32: 'onnxruntime_providers_cuda.dll',
};

/**
 * Why CUDA cannot run, or undefined when it may. Checked before trying a session because
 * onnxruntime-node prints a native error to stderr on every failed CUDA attempt, and because "the
 * provider library was never installed" is the useful answer far more often than the native message.
 */
export function cudaUnavailableReason(ort: Pick<OrtNode, 'listSupportedBackends'>): string | undefined {
  const listed = ort.listSupportedBackends?.().some((b) => b.name === 'cuda') ?? true;
  if (!listed) return 'this onnxruntime-node build does not list the cuda backend';
  const library = CUDA_PROVIDER_LIBRARY[process.platform];
  if (library === undefined) return `onnxruntime-node has no CUDA provider on ${process.platform}`;
  let bindingDir: string;
  try {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    bindingDir = join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    // e.g. a CJS build where import.meta.url is empty: cannot tell, so the session attempt decides.
    return undefined;
  }
  if (!existsSync(join(bindingDir, library))) {
    return `${library} is not installed beside onnxruntime-node (install it with --onnxruntime-node-install=cuda12 and CUDA 12 + cuDNN 9 on the library path)`;
  }
  return undefined;
}

/**
 * Inference on onnxruntime-node. The device is checked against NODE_DEVICES now; the provider is
 * resolved on the first session and reused for every later one so all graphs of a model share it.
 */
export function createNodeBackend(options: NodeBackendOptions = {}): InferenceBackend {
  const device = options.device ?? 'auto';
  const providers = providersFor(NODE_DEVICES, device);
  let resolved: string | undefined;

  return {
    name: 'onnxruntime-node',
    device,
    async createSession(bytes: Uint8Array, graphName: string): Promise<GraphSession> {
      const ort = await loadOrtNode();
      const toOrt = (t: TensorData): OrtNodeTensor => toOrtTensor(ort.Tensor, t);
      const create = (provider: string): Promise<OrtSessionLike<OrtNodeTensor>> =>
        ort.InferenceSession.create(bytes, {
          executionProviders: [provider],
          ...(options.intraOpNumThreads !== undefined ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
        });
      const { session, provider } = await createOnFirstAvailable('onnxruntime-node', device, resolved ? [resolved] : providers, {
        unavailable: (p) => (p === 'cuda' ? cudaUnavailableReason(ort) : undefined),
        create,
        // cpu is the last resort: if it fails, the model is at fault, not the device.
        isProviderFailure: (p) => p !== 'cpu',
      });
      resolved = provider;
      return wrapOrtSession(session, graphName, provider, toOrt);
    },
  };
}
