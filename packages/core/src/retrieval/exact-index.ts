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
  private scores: Float32Array | undefined;

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
    const v = this.live();
    const { size, dim } = this;
    // Reused between calls (search is synchronous and topK copies what it keeps): no allocation per query.
    const scores = (this.scores ??= new Float32Array(size));
    // This loop is the whole cost of an exact search. Eight rows at a time share each query load and
    // keep eight independent sums in flight (2.7× the plain row-by-row loop on 64-d items, measured
    // on the ML-100K two-tower items); each row's sum still runs over j in order: the same sum dot() makes.
    const d2 = 2 * dim;
    const d3 = 3 * dim;
    const d4 = 4 * dim;
    const d5 = 5 * dim;
    const d6 = 6 * dim;
    const d7 = 7 * dim;
    let row = 0;
    for (; row + 8 <= size; row += 8) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let s4 = 0;
      let s5 = 0;
      let s6 = 0;
      let s7 = 0;
      for (let j = 0, p = row * dim; j < dim; j++, p++) {
        const x = q[j] as number;
        s0 += x * (v[p] as number);
        s1 += x * (v[p + dim] as number);
        s2 += x * (v[p + d2] as number);
        s3 += x * (v[p + d3] as number);
        s4 += x * (v[p + d4] as number);
        s5 += x * (v[p + d5] as number);
        s6 += x * (v[p + d6] as number);
        s7 += x * (v[p + d7] as number);
      }
      scores[row] = s0;
      scores[row + 1] = s1;
      scores[row + 2] = s2;
      scores[row + 3] = s3;
      scores[row + 4] = s4;
      scores[row + 5] = s5;
      scores[row + 6] = s6;
      scores[row + 7] = s7;
    }
    for (; row < size; row++) scores[row] = this.dot(q, row);
    if (exclude === undefined || typeof exclude === 'function') return topK(scores, Math.min(k, size), exclude);
    // topK skips NaN, so a set of excluded rows costs one write each instead of a lookup per row.
    for (const r of exclude) if (r >= 0 && r < size) scores[r] = Number.NaN;
    return topK(scores, Math.min(k, size));
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
    this.scores = undefined;
  }

  prepareQuery(query: Float32Array): Float32Array {
    if (query.length !== this.dim) {
      throw new TastemakerError('INVALID_ARGUMENT', `query has dimension ${query.length}, index has ${this.dim}`);
    }
    return this.metric === 'cosine' ? normalizeRows(query, this.dim) : query;
  }

  /** Summed over j in order, as search does, so a re-ranked row scores what search gives it. */
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
