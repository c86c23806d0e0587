/**
 * Picks the TensorFlow.js backend that runs the dense parts of training (MLP towers, GRUs, actors).
 *
 * Fastest first: tfjs-node-gpu (CUDA) → tfjs-node (libtensorflow) → wasm (XNNPACK) → plain JS cpu.
 * The two native packages are optional dependencies whose install downloads libtensorflow, so they
 * are loaded with a computed-specifier dynamic import: a missing package is an expected, reported
 * fall-through rather than a build or import-time failure, and bundlers leave the import alone.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
// The portable backends are regular dependencies and are imported statically: a dynamic import can
// resolve to a different build of tfjs-core than this module's (CJS "main" vs ESM "module", e.g.
// under vite/vitest), and a backend registered with another tfjs-core instance is invisible here.
import '@tensorflow/tfjs-backend-cpu';
import * as tfWasm from '@tensorflow/tfjs-backend-wasm';
import { TastemakerError } from '@tastemaker/core';

export interface BackendCandidate {
  /** the name users pass (`--backend`) and that `initBackend` reports */
  name: string;
  /** package that registers the backend */
  module: string;
  /** the name the package registers with tfjs */
  tfjsName: string;
  /** extra names accepted as a preference */
  aliases: readonly string[];
}

/** One table from preference to package, fastest first; the order is the automatic choice's order. */
export const BACKEND_CANDIDATES: readonly BackendCandidate[] = [
  { name: 'tensorflow-gpu', module: '@tensorflow/tfjs-node-gpu', tfjsName: 'tensorflow', aliases: ['gpu', 'cuda', 'tfjs-node-gpu'] },
  { name: 'tensorflow', module: '@tensorflow/tfjs-node', tfjsName: 'tensorflow', aliases: ['node', 'tfjs-node'] },
  { name: 'wasm', module: '@tensorflow/tfjs-backend-wasm', tfjsName: 'wasm', aliases: [] },
  { name: 'cpu', module: '@tensorflow/tfjs-backend-cpu', tfjsName: 'cpu', aliases: ['js'] },
];

/** Every name `initBackend` accepts ('auto' = fastest present). */
export const BACKEND_NAMES: readonly string[] = ['auto', ...BACKEND_CANDIDATES.flatMap((c) => [c.name, ...c.aliases])];

export interface BackendAttempt {
  name: string;
  error?: string;
}

export interface BackendInfo {
  /** the candidate that now runs tfjs ops, e.g. "wasm" */
  name: string;
  /** what was tried, in order, with why each failure failed */
  tried: BackendAttempt[];
}

let current: { key: string; info: BackendInfo } | undefined;
let pending: { key: string; promise: Promise<BackendInfo> } | undefined;

/**
 * Makes the best available (or the preferred) backend current and reports which one runs.
 * Idempotent: repeated calls with the same preference resolve to the first call's result without
 * re-initialising; a different preference switches backends.
 */
export function initBackend(preference?: string): Promise<BackendInfo> {
  let key: string;
  try {
    key = normalisePreference(preference);
  } catch (e) {
    return Promise.reject(e);
  }
  if (current !== undefined && current.key === key && tf.getBackend() === candidateByName(current.info.name)?.tfjsName) {
    return Promise.resolve(current.info);
  }
  if (pending !== undefined && pending.key === key) return pending.promise;
  const promise = initUncached(key).then(
    (info) => {
      current = { key, info };
      if (pending?.promise === promise) pending = undefined;
      return info;
    },
    (error: unknown) => {
      if (pending?.promise === promise) pending = undefined;
      throw error;
    },
  );
  pending = { key, promise };
  return promise;
}

/** The backend the last successful `initBackend` chose, if any. */
export function currentBackend(): string | undefined {
  return current?.info.name;
}

function candidateByName(name: string): BackendCandidate | undefined {
  return BACKEND_CANDIDATES.find((c) => c.name === name || c.aliases.includes(name));
}

function normalisePreference(preference: string | undefined): string {
  const p = (preference ?? 'auto').trim().toLowerCase();
  if (p === '' || p === 'auto') return 'auto';
  const c = candidateByName(p);
  if (c === undefined) {
    throw new TastemakerError(
      'INVALID_CONFIG',
      `Invalid backend: ${JSON.stringify(preference)}. Valid values: ${BACKEND_NAMES.map((v) => JSON.stringify(v)).join(', ')}.`,
      { option: 'backend', got: preference, valid: BACKEND_NAMES },
    );
  }
  return c.name;
}

async function initUncached(key: string): Promise<BackendInfo> {
  // backend_util.warn only prints when PROD is off; the CPU backend's "install tfjs-node" banner
  // would otherwise land in the middle of the CLI's progress output.
  tf.env().set('PROD', true);
  const candidates = key === 'auto' ? BACKEND_CANDIDATES : BACKEND_CANDIDATES.filter((c) => c.name === key);
  const tried: BackendAttempt[] = [];
  for (const c of candidates) {
    try {
      await activate(c);
      tried.push({ name: c.name });
      return { name: c.name, tried };
    } catch (e) {
      tried.push({ name: c.name, error: e instanceof Error ? e.message : String(e) });
    }
  }
  const detail = tried.map((t) => `${t.name}: ${t.error ?? 'ok'}`).join('; ');
  throw new TastemakerError(
    key === 'auto' ? 'DEVICE_UNAVAILABLE' : 'INVALID_CONFIG',
    key === 'auto'
      ? `No TensorFlow.js backend could be initialised (${detail}).`
      : `Backend ${JSON.stringify(key)} is not available (${detail}). Valid values: ${BACKEND_NAMES.map((v) => JSON.stringify(v)).join(', ')}.`,
    { option: 'backend', got: key, valid: BACKEND_NAMES, tried },
  );
}

async function activate(c: BackendCandidate): Promise<void> {
  const registered = tf.findBackendFactory(c.tfjsName) !== undefined;
  // tfjs-node and tfjs-node-gpu both register "tensorflow": only importing the GPU package tells
  // whether it is the one present, while the CPU package may reuse whichever already registered.
  if (c.name === 'wasm') locateWasmBinaries();
  else if (!registered || c.name === 'tensorflow-gpu') {
    const specifier: string = c.module;
    await import(specifier);
  }
  if (tf.findBackendFactory(c.tfjsName) === undefined) {
    throw new Error(`${c.module} loaded but registered no "${c.tfjsName}" backend with this copy of @tensorflow/tfjs-core (two copies or builds of it are loaded)`);
  }
  const ok = await tf.setBackend(c.tfjsName);
  if (!ok) throw new Error(`tf.setBackend("${c.tfjsName}") failed`);
  await tf.ready();
  if (c.name === 'tensorflow-gpu' && !usesGpu()) {
    throw new Error('@tensorflow/tfjs-node-gpu loaded but TensorFlow sees no CUDA device');
  }
}

/** tfjs-node-gpu quietly runs on the CPU when CUDA is missing; its binding is the only tell. */
function usesGpu(): boolean {
  const backend = tf.backend() as unknown as { binding?: { isUsingGpuDevice?: () => boolean } };
  const binding = backend.binding;
  return typeof binding?.isUsingGpuDevice === 'function' ? binding.isUsingGpuDevice() : true;
}

/**
 * The Node build of the wasm backend finds its .wasm files next to its own script, which breaks
 * once a bundler inlines it; pointing it at the package's dist folder in node_modules works either
 * way. Must run before the backend first initialises.
 */
let wasmLocated = false;
function locateWasmBinaries(): void {
  if (wasmLocated || !isNode()) return;
  wasmLocated = true;
  try {
    const require = createRequire(import.meta.url);
    const main = require.resolve('@tensorflow/tfjs-backend-wasm');
    tfWasm.setWasmPaths(path.dirname(main) + path.sep);
  } catch {
    // Not resolvable from here (e.g. a bundled copy): keep the package's own default.
  }
}

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}
