// Node only: imported by node.ts, never by the edge entry.
import { TastemakerError } from '../errors/index.js';
import { ExactIndex } from './exact-index.js';
import { type ExcludeFilter, type Metric, type SearchHit, type VectorIndex } from './types.js';

type Hnswlib = typeof import('hnswlib-node');
type HierarchicalNSW = InstanceType<Hnswlib['HierarchicalNSW']>;

export interface HnswOptions {
  metric?: Metric;
  /** Graph degree. DESIGN.md: M 16 plateaus near 0.94 recall@10 on low-rank embeddings; 32 reaches 0.999 with re-ranking. */
  m?: number;
  efConstruction?: number;
  /** Search breadth; raised to the candidate count when that is larger. */
  ef?: number;
  /** How many candidates to fetch for a top-k before exact re-ranking; default max(4k, 40). */
  candidates?: (k: number) => number;
  seed?: number;
  /**
   * Search exactly instead when the candidates to fetch are at least this share of the catalogue.
   * The walk then visits most of the graph anyway, calling the exclude filter per node, and a
   * straight scan is both faster and exact. Default 0: always walk the graph. createRecommender's
   * index 'auto' uses AUTO_EXACT_FETCH_SHARE.
   */
  exactFetchShare?: number;
}

export const HNSW_DEFAULTS = { m: 32, efConstruction: 400, ef: 64, seed: 100, exactFetchShare: 0 } as const;

/**
 * The exactFetchShare createRecommender's index 'auto' uses. Measured on 64- and 32-d low-rank
 * vectors: exact search is faster while the catalogue is up to about 16 × the fetch (1,682 items
 * with 200 fetched: 0.15 ms exact vs 0.26 ms through the graph) and slower beyond about 25 ×.
 */
export const AUTO_EXACT_FETCH_SHARE = 1 / 16;
const defaultCandidates = (k: number) => Math.max(4 * k, 40);

let hnswlibPromise: Promise<Hnswlib> | undefined;
/** Loads hnswlib-node once; a failed load is forgotten so a later call can retry. */
export function loadHnswlib(): Promise<Hnswlib> {
  hnswlibPromise ??= import('hnswlib-node')
    .then((m) => ((m as { default?: Hnswlib }).default ?? m) as Hnswlib)
    .catch((cause: unknown) => {
      hnswlibPromise = undefined;
      throw cause;
    });
  return hnswlibPromise;
}

/**
 * Approximate top-k on hnswlib-node (inner-product space; cosine is served by normalising first),
 * with the fetched candidates re-ranked by exact inner product so the returned scores are exact and
 * small graph errors in the order do not leak out. Falls back to exact search when the filter
 * leaves the graph search short of k results.
 */
export class HnswIndex implements VectorIndex {
  readonly kind = 'hnsw';
  readonly size: number;
  readonly dim: number;
  readonly metric: Metric;
  private index: HierarchicalNSW | undefined;
  private readonly exact: ExactIndex;
  private readonly ef: number;
  private readonly candidates: (k: number) => number;
  /** Fetches of at least this many items search exactly (see HnswOptions.exactFetchShare). */
  private readonly exactFrom: number;
  readonly params: { m: number; efConstruction: number; ef: number; seed: number; exactFetchShare: number };

  private constructor(exact: ExactIndex, index: HierarchicalNSW, params: HnswIndex['params'], candidates: (k: number) => number) {
    this.exact = exact;
    this.index = index;
    this.size = exact.size;
    this.dim = exact.dim;
    this.metric = exact.metric;
    this.params = params;
    this.ef = params.ef;
    this.candidates = candidates;
    this.exactFrom = params.exactFetchShare > 0 ? params.exactFetchShare * this.size : Infinity;
    index.setEf(params.ef);
  }

  /** Builds the graph over row-major vectors (row = label). */
  static async build(vectors: Float32Array, dim: number, options: HnswOptions = {}): Promise<HnswIndex> {
    const lib = await loadHnswlib();
    const exact = new ExactIndex(vectors, dim, { metric: options.metric ?? 'ip' });
    const params = HnswIndex.resolveParams(options);
    const index = new lib.HierarchicalNSW('ip', dim);
    index.initIndex({ maxElements: Math.max(1, exact.size), m: params.m, efConstruction: params.efConstruction, randomSeed: params.seed });
    const data = exact.data;
    // hnswlib-node only takes plain arrays; one reused array avoids an allocation per row.
    const point = new Array<number>(dim);
    for (let row = 0; row < exact.size; row++) {
      const off = row * dim;
      for (let j = 0; j < dim; j++) point[j] = data[off + j] as number;
      index.addPoint(point, row);
    }
    return new HnswIndex(exact, index, params, options.candidates ?? defaultCandidates);
  }

  /**
   * Reads a graph saved by `save`. The vectors must be the ones it was built from (core keys cache
   * files by the items file's sha256); a count or dimension mismatch is refused.
   */
  static async load(path: string, vectors: Float32Array, dim: number, options: HnswOptions = {}): Promise<HnswIndex> {
    const lib = await loadHnswlib();
    const exact = new ExactIndex(vectors, dim, { metric: options.metric ?? 'ip' });
    const index = new lib.HierarchicalNSW('ip', dim);
    await index.readIndex(path);
    if (index.getCurrentCount() !== exact.size) {
      throw new TastemakerError('INVALID_ARGUMENT', `HNSW file ${path} holds ${index.getCurrentCount()} items, expected ${exact.size}`, { path });
    }
    return new HnswIndex(exact, index, HnswIndex.resolveParams(options), options.candidates ?? defaultCandidates);
  }

  private static resolveParams(options: HnswOptions): HnswIndex['params'] {
    return {
      m: options.m ?? HNSW_DEFAULTS.m,
      efConstruction: options.efConstruction ?? HNSW_DEFAULTS.efConstruction,
      ef: options.ef ?? HNSW_DEFAULTS.ef,
      seed: options.seed ?? HNSW_DEFAULTS.seed,
      exactFetchShare: options.exactFetchShare ?? HNSW_DEFAULTS.exactFetchShare,
    };
  }

  async save(path: string): Promise<void> {
    await this.live().writeIndex(path);
  }

  search(query: Float32Array, k: number, exclude?: ExcludeFilter): SearchHit[] {
    const index = this.live();
    if (k <= 0 || this.size === 0) return [];
    const want = Math.min(k, this.size);
    const fetch = Math.min(this.size, Math.max(want, this.candidates(want)));
    if (fetch >= this.exactFrom) return this.exact.search(query, want, exclude);
    index.setEf(Math.max(this.ef, fetch));
    // The filter runs inside the graph walk, so excluded items never take candidate slots.
    const filter = exclude === undefined ? undefined : graphFilter(exclude);
    const found = index.searchKnn(Array.from(this.exact.prepareQuery(query)), fetch, filter);
    // Short means the filter starved the walk (or the graph is tiny); exact search settles it.
    if (found.neighbors.length < want) return this.exact.search(query, want, exclude);
    return this.exact.rerank(query, found.neighbors, want);
  }

  dispose(): void {
    this.index = undefined;
    this.exact.dispose();
  }

  private live(): HierarchicalNSW {
    if (this.index === undefined) throw new TastemakerError('DISPOSED', 'HnswIndex has been disposed');
    return this.index;
  }
}

/** hnswlib's filter is true for labels to keep; it runs once per visited node, so no extra closure layer for a Set. */
function graphFilter(exclude: ExcludeFilter): (label: number) => boolean {
  if (typeof exclude === 'function') return (label) => !exclude(label);
  return (label) => !exclude.has(label);
}
