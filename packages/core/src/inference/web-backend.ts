import { TastemakerError } from '../errors/index.js';
import { createOnFirstAvailable, providersFor } from './device-table.js';
import { toOrtTensor, wrapOrtSession, type OrtSessionLike } from './ort-session.js';
import type { GraphSession, InferenceBackend, TensorData } from './types.js';

/** Device → onnxruntime-web execution providers; webgpu first because wasm is the universal fallback. */
export const WEB_DEVICES = {
  auto: ['webgpu', 'wasm'],
  webgpu: ['webgpu'],
  wasm: ['wasm'],
} as const satisfies Record<string, readonly string[]>;
export type WebDevice = keyof typeof WEB_DEVICES;

type OrtWeb = typeof import('onnxruntime-web');
type OrtWebTensor = InstanceType<OrtWeb['Tensor']>;

export interface WebBackendOptions {
  /** A WEB_DEVICES key; other strings fail with INVALID_CONFIG listing the valid ones. */
  device?: WebDevice | (string & {});
  /**
   * The onnxruntime-web module to use, e.g. `await import('onnxruntime-web/webgpu')` where a build
   * needs a specific flavour; by default `onnxruntime-web` is imported on first use.
   */
  ort?: OrtWeb;
}

// Memoised by module so every backend shares one wasm instance; evicted on failure so a later call retries.
let ortWebPromise: Promise<OrtWeb> | undefined;
function loadOrtWeb(): Promise<OrtWeb> {
  ortWebPromise ??= import('onnxruntime-web').catch((cause: unknown) => {
    ortWebPromise = undefined;
    throw new TastemakerError('DEVICE_UNAVAILABLE', 'onnxruntime-web could not be loaded', { runtime: 'onnxruntime-web' }, { cause });
  });
  return ortWebPromise;
}

/** Inference on onnxruntime-web (edge, browser, or node when native binaries are not wanted). */
export function createWebBackend(options: WebBackendOptions = {}): InferenceBackend {
  const device = options.device ?? 'auto';
  const providers = providersFor(WEB_DEVICES, device);
  let resolved: string | undefined;

  return {
    name: 'onnxruntime-web',
    device,
    async createSession(bytes: Uint8Array, graphName: string): Promise<GraphSession> {
      const ort = options.ort ?? (await loadOrtWeb());
      const toOrt = (t: TensorData): OrtWebTensor => toOrtTensor(ort.Tensor, t);
      const create = (provider: string): Promise<OrtSessionLike<OrtWebTensor>> =>
        ort.InferenceSession.create(bytes, { executionProviders: [provider] });
      const { session, provider } = await createOnFirstAvailable('onnxruntime-web', device, resolved ? [resolved] : providers, {
        unavailable: (p) => (p === 'webgpu' && !hasWebGpu() ? 'navigator.gpu is not available in this runtime' : undefined),
        create,
        isProviderFailure: (p) => p !== 'wasm',
      });
      resolved = provider;
      return wrapOrtSession(session, graphName, provider, toOrt);
    },
  };
}

function hasWebGpu(): boolean {
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  return nav?.gpu !== undefined && nav.gpu !== null;
}
