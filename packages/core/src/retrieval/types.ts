export type Metric = 'ip' | 'cosine';

/** Item rows to leave out of a search: a set of rows, or a predicate that is true for excluded rows. */
export type ExcludeFilter = ReadonlySet<number> | ((row: number) => boolean);

export interface SearchHit {
  readonly row: number;
  readonly score: number;
}

/** Top-k search over item vectors by similarity (higher is better). */
export interface VectorIndex {
  readonly kind: string;
  readonly size: number;
  readonly dim: number;
  readonly metric: Metric;
  /** Best k rows for the query, best first; fewer when fewer rows pass the filter. */
  search(query: Float32Array, k: number, exclude?: ExcludeFilter): SearchHit[];
  dispose(): void;
}

export function isExcluded(exclude: ExcludeFilter | undefined): (row: number) => boolean {
  if (exclude === undefined) return () => false;
  if (typeof exclude === 'function') return exclude;
  return (row) => exclude.has(row);
}
