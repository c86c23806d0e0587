import { TastemakerError, invalidConfig } from '../errors/index.js';
import { topK } from './top-k.js';
import type { ExcludeFilter, Metric, SearchHit, VectorIndex } from './types.js';

export const METRICS: readonly Metric[] = ['ip', 'cosine'];

export interface ExactIndexOptions {
  metric?: Metric;
}

/** L2-normalised copy of row-major vectors; zero rows stay zero (their cosine with anything is 0). */
export function normalizeRows(vectors: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(vectors.length);
  for (let off = 0; off < vectors.length; off += dim) {
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += (vectors[off + j] as number) ** 2;
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let j = 0; j < dim; j++) out[off + j] = (vectors[off + j] as number) * inv;
  }
  return out;
}

/**
 * Brute-force top-k by inner product (or cosine) over row-major float32 vectors. It is the ground
 * truth HNSW recall is measured against, and the retrieval used at the edge and for small catalogues.
 */
export class ExactIndex implements VectorIndex {
  readonly kind = 'exact';
  readonly size: number;
  readonly dim: number;
  readonly metric: Metric;
  private vectors: Float32Array | undefined;

  constructor(vectors: Float32Array, dim: number, options: ExactIndexOptions = {}) {
    const metric = options.metric ?? 'ip';
    if (!METRICS.includes(metric)) throw invalidConfig('metric', metric, METRICS);
    if (!Number.isInteger(dim) || dim <= 0 || vectors.length % dim !== 0) {
      throw new TastemakerError('INVALID_ARGUMENT', `vectors of length ${vectors.length} are not rows of dimension ${dim}`);
    }
    this.dim = dim;
    this.metric = metric;
    this.size = vectors.length / dim;
    this.vectors = metric === 'cosine' ? normalizeRows(vectors, dim) : vectors;
  }

  /** Similarity of the query to one row, under this index's metric. */
  score(query: Float32Array, row: number): number {
    const q = this.prepareQuery(query);
    return this.dot(q, row);
  }

  search(query: Float32Array, k: number, exclude?: ExcludeFilter): SearchHit[] {
    const q = this.prepareQuery(query);
    const scores = new Float32Array(this.size);
    for (let row = 0; row < this.size; row++) scores[row] = this.dot(q, row);
    return topK(scores, Math.min(k, this.size), exclude);
  }

  /** Exact scores of chosen rows, best first: how HNSW candidates are re-ranked. */
  rerank(query: Float32Array, rows: Iterable<number>, k: number): SearchHit[] {
    const q = this.prepareQuery(query);
    const hits: SearchHit[] = [];
    for (const row of rows) hits.push({ row, score: this.dot(q, row) });
    return hits.sort((a, b) => b.score - a.score || a.row - b.row).slice(0, k);
  }

  /** The vectors the index scores against (normalised for cosine). */
  get data(): Float32Array {
    return this.live();
  }

  dispose(): void {
    this.vectors = undefined;
  }

  prepareQuery(query: Float32Array): Float32Array {
    if (query.length !== this.dim) {
      throw new TastemakerError('INVALID_ARGUMENT', `query has dimension ${query.length}, index has ${this.dim}`);
    }
    return this.metric === 'cosine' ? normalizeRows(query, this.dim) : query;
  }

  private dot(q: Float32Array, row: number): number {
    const v = this.live();
    const off = row * this.dim;
    let s = 0;
    for (let j = 0; j < this.dim; j++) s += (q[j] as number) * (v[off + j] as number);
    return s;
  }

  private live(): Float32Array {
    if (this.vectors === undefined) throw new TastemakerError('DISPOSED', 'ExactIndex has been disposed');
    return this.vectors;
  }
}
