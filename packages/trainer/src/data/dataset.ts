/**
 * The in-memory data set every reader produces and every protocol and model consumes.
 * Users and items are dense 0-based indices; `users.ids[i]` / `items.ids[i]` give the external id.
 */

/** Bidirectional map between external string ids and dense indices, in order of first appearance. */
export class IdMap {
  readonly ids: string[] = [];
  private readonly index = new Map<string, number>();

  static from(ids: Iterable<string>): IdMap {
    const m = new IdMap();
    for (const id of ids) m.add(id);
    return m;
  }

  /** Index of `id`, adding it if new. */
  add(id: string): number {
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.ids.length;
      this.ids.push(id);
      this.index.set(id, i);
    }
    return i;
  }

  get(id: string): number | undefined {
    return this.index.get(id);
  }

  has(id: string): boolean {
    return this.index.has(id);
  }

  get size(): number {
    return this.ids.length;
  }
}

/** Interactions in coordinate form; parallel arrays of equal length. */
export interface Interactions {
  user: Int32Array;
  item: Int32Array;
  /** explicit rating, play count or 1 for implicit data */
  value: Float32Array;
  /** unix seconds; NaN when the source has none */
  timestamp: Float64Array;
}

/** Dense side features: row-major [rows, names.length]. */
export interface FeatureMatrix {
  names: string[];
  values: Float32Array;
}

/** Compressed sparse rows (user → items), items sorted ascending within a row, no duplicates. */
export interface Csr {
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  /** the interaction value per entry (last value wins for duplicates) */
  values: Float32Array;
}

export interface Dataset {
  /** e.g. "movielens-100k" */
  name: string;
  users: IdMap;
  items: IdMap;
  interactions: Interactions;
  userFeatures?: FeatureMatrix;
  itemFeatures?: FeatureMatrix;
  /** human-readable item titles/names, by item index, when the source has them */
  itemTitles?: string[];
  /** where it was read from; protocols use it to find companion files (e.g. ML-1M's ncf-protocol/) */
  source?: { format: string; path: string };
  /** knowledge graph linked to the items (Last.FM KG data), when the source has one */
  kg?: KnowledgeGraph;
}

/**
 * Directed (head, relation, tail) triples over dense entity and relation indices; consumers that
 * want an undirected graph (KGCN) add the reverse edges themselves.
 */
export interface KnowledgeGraph {
  heads: Int32Array;
  relations: Int32Array;
  tails: Int32Array;
  entityCount: number;
  relationCount: number;
  /** entity index of each item, by item index */
  itemEntity: Int32Array;
}

export function interactionCount(d: Pick<Dataset, 'interactions'>): number {
  return d.interactions.user.length;
}
