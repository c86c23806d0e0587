// Node only: imported by node.ts, never by the edge entry.
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { directorySource } from '../bundle/directory-source.js';
import { loadBundle, type LoadedBundle } from '../bundle/load-bundle.js';
import type { BundleSource } from '../bundle/source.js';
import { TastemakerError, invalidConfig } from '../errors/index.js';
import { createNodeBackend, type NodeDevice } from '../inference/node-backend.js';
import type { InferenceBackend } from '../inference/types.js';
import { ExactIndex } from '../retrieval/exact-index.js';
import { AUTO_EXACT_FETCH_SHARE, HNSW_DEFAULTS, HnswIndex, loadHnswlib, type HnswOptions } from '../retrieval/hnsw-index.js';
import type { VectorIndex } from '../retrieval/types.js';
import type { RecommenderKgOptions } from '../kg/index.js';
import { createRecommenderFromBundle, type Recommender } from './recommender.js';

export const INDEX_CHOICES = ['auto', 'hnsw', 'exact'] as const;
export type IndexChoice = (typeof INDEX_CHOICES)[number];

/** Below this many items exact search is as fast as HNSW and needs no build, so 'auto' picks exact. */
export const HNSW_AUTO_MIN_ITEMS = 1000;

export interface CreateRecommenderOptions {
  /** A bundle directory, or any BundleSource. */
  bundle: string | BundleSource;
  /** 'auto' (cuda, else cpu), 'cpu' or 'cuda'; anything else fails with INVALID_CONFIG listing these. */
  device?: NodeDevice | (string & {});
  /**
   * 'auto' = HNSW when hnswlib-node loads and the catalogue has more than HNSW_AUTO_MIN_ITEMS items,
   * searching exactly instead for any query whose candidate fetch is at least AUTO_EXACT_FETCH_SHARE
   * of the catalogue (e.g. a bandit's pool of 50 → 200 fetched from 1,682 items); else exact.
   * 'hnsw' always walks the graph unless `hnsw.exactFetchShare` says otherwise.
   */
  index?: IndexChoice | (string & {});
  hnsw?: Omit<HnswOptions, 'metric'>;
  /**
   * Keep the built HNSW graph on disk and reuse it: true = `.tastemaker-cache/` inside a bundle
   * directory, a string = that directory. Files are keyed by the items file's sha256 and the graph
   * parameters, so a changed bundle never reads a stale graph. Off by default.
   */
  indexCache?: boolean | string;
  /** Use this backend instead of onnxruntime-node (e.g. createWebBackend for wasm). */
  backend?: InferenceBackend;
  /**
   * onnxruntime-node intra-op threads for the user graph. Default 1 (SERVING_INTRA_OP_THREADS): a
   * recommender runs one small graph per request and gets its parallelism from concurrent requests;
   * a second intra-op thread only spin-waits (measured: ~1.2 ms of CPU per request on the ML-100K
   * two-tower, for no latency gain). Raise it for large recommendBatch calls on an otherwise idle
   * machine. Ignored when `backend` is given.
   */
  intraOpNumThreads?: number;
  /** Bundles with a knowledge graph: explanations (on by default) and KG candidates (off by default). */
  kg?: RecommenderKgOptions;
}

/** Default intra-op threads for a serving recommender on onnxruntime-node; see CreateRecommenderOptions. */
export const SERVING_INTRA_OP_THREADS = 1;

/**
 * Loads and verifies a bundle, opens its graph on onnxruntime-node and builds the item index.
 * Configuration mistakes (device, index) fail before any file is read.
 */
export async function createRecommender(options: CreateRecommenderOptions): Promise<Recommender> {
  const indexChoice = options.index ?? 'auto';
  if (!isIndexChoice(indexChoice)) throw invalidConfig('index', indexChoice, INDEX_CHOICES);
  const backend =
    options.backend ??
    createNodeBackend({ device: options.device ?? 'auto', intraOpNumThreads: options.intraOpNumThreads ?? SERVING_INTRA_OP_THREADS });
  if (typeof options.bundle !== 'string' && (typeof options.bundle !== 'object' || options.bundle === null)) {
    throw new TastemakerError('INVALID_CONFIG', 'bundle must be a directory path or a BundleSource', { option: 'bundle' });
  }
  const source = typeof options.bundle === 'string' ? directorySource(options.bundle) : options.bundle;
  const cacheDir =
    typeof options.indexCache === 'string'
      ? options.indexCache
      : options.indexCache === true && typeof options.bundle === 'string'
        ? join(options.bundle, '.tastemaker-cache')
        : undefined;

  const bundle = await loadBundle(source);
  return createRecommenderFromBundle(bundle, {
    backend,
    index: (b) => createIndex(b, indexChoice, options.hnsw ?? {}, cacheDir),
    ...(options.kg !== undefined ? { kg: options.kg } : {}),
  });
}

async function createIndex(bundle: LoadedBundle, choice: IndexChoice, hnsw: Omit<HnswOptions, 'metric'>, cacheDir: string | undefined): Promise<VectorIndex> {
  const { manifest, itemEmbeddings } = bundle;
  const dim = manifest.items.dim;
  if (itemEmbeddings === undefined || dim === undefined) {
    throw new TastemakerError('INTERNAL', 'embedding bundle without item vectors passed verification');
  }
  const metric = manifest.model.metric;
  const exact = () => new ExactIndex(itemEmbeddings, dim, { metric });
  if (choice === 'exact') return exact();
  if (choice === 'auto' && manifest.items.count <= HNSW_AUTO_MIN_ITEMS) return exact();
  try {
    await loadHnswlib();
  } catch (cause) {
    if (choice === 'auto') return exact();
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new TastemakerError(
      'INVALID_CONFIG',
      `index "hnsw" needs hnswlib-node, which failed to load (${reason}). Valid values here: "auto", "exact".`,
      { option: 'index', got: 'hnsw', valid: ['auto', 'exact'] },
      { cause },
    );
  }
  const options: HnswOptions = { ...(choice === 'auto' ? { exactFetchShare: AUTO_EXACT_FETCH_SHARE } : {}), ...hnsw, metric };
  if (cacheDir === undefined) return HnswIndex.build(itemEmbeddings, dim, options);

  const itemsFile = manifest.items.embeddings as string;
  const sha = manifest.files[itemsFile]?.sha256 ?? bundle.manifestSha256;
  const m = hnsw.m ?? HNSW_DEFAULTS.m;
  const efc = hnsw.efConstruction ?? HNSW_DEFAULTS.efConstruction;
  const seed = hnsw.seed ?? HNSW_DEFAULTS.seed;
  const path = join(cacheDir, `hnsw-${sha.slice(0, 16)}-${metric}-m${m}-efc${efc}-s${seed}.bin`);
  if (await exists(path)) {
    try {
      return await HnswIndex.load(path, itemEmbeddings, dim, options);
    } catch {
      // A truncated or foreign cache file is only a lost optimisation: rebuild and overwrite it.
    }
  }
  const index = await HnswIndex.build(itemEmbeddings, dim, options);
  try {
    await mkdir(cacheDir, { recursive: true });
    await index.save(path);
  } catch {
    // Read-only bundle locations are normal in deployment; serving must not depend on the cache.
  }
  return index;
}

function isIndexChoice(value: unknown): value is IndexChoice {
  return typeof value === 'string' && (INDEX_CHOICES as readonly string[]).includes(value);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
