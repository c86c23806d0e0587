import { TastemakerError } from '@tastemaker/core';
import type { KgAdjacency } from '../../kg/adjacency.js';

/**
 * kg-song's candidate stage: the seed recommender (NCF) proposes its top items, and the knowledge
 * graph widens them by their k-hop neighbourhood up to a user-set cardinality; the GRU + MLP then
 * ranks only these. Hops count KG edges, so on Last.FM (items linked to artists, tags, …) an item
 * sharing an attribute with a seed is 2 hops away.
 */
export interface KgCandidateOptions {
  /** KG edges walked from the seeds' entities (0 = the seeds only) */
  hops: number;
  /** how many candidates at most */
  cardinality: number;
  /** items never returned (e.g. the user's history) */
  exclude?: ArrayLike<number>;
}

function check(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new TastemakerError('INVALID_CONFIG', `Invalid ${name} for kg-song candidates: ${String(v)}. It must be an integer ≥ ${min}.`, { option: name, got: v });
}

/** Entity → item index (−1 for entities that are not items). */
export function entityItems(entityCount: number, itemEntity: Int32Array): Int32Array {
  const out = new Int32Array(entityCount).fill(-1);
  // the first item of an entity wins, so the mapping is a function of the data
  for (let i = 0; i < itemEntity.length; i++) if (out[itemEntity[i]!] === -1) out[itemEntity[i]!] = i;
  return out;
}

/**
 * Candidates in breadth-first order: the seeds (in their given order) first, then the items one
 * hop further, and so on, each hop in the order its parents were reached; stops at `cardinality`.
 */
export function kgCandidates(adjacency: Pick<KgAdjacency, 'entityCount' | 'indptr' | 'neighbors'>, itemEntity: Int32Array, seeds: ArrayLike<number>, options: KgCandidateOptions): Int32Array {
  check('hops', options.hops, 0);
  check('cardinality', options.cardinality, 1);
  const nItems = itemEntity.length;
  const itemOf = entityItems(adjacency.entityCount, itemEntity);
  const excluded = new Uint8Array(nItems);
  for (const i of Array.from(options.exclude ?? [])) if (i >= 0 && i < nItems) excluded[i] = 1;
  const taken = new Uint8Array(nItems);
  const visited = new Uint8Array(adjacency.entityCount);
  const out: number[] = [];
  const take = (item: number): void => {
    if (item < 0 || taken[item] || excluded[item] || out.length >= options.cardinality) return;
    taken[item] = 1;
    out.push(item);
  };
  let frontier: number[] = [];
  for (const s of Array.from(seeds)) {
    if (!Number.isInteger(s) || s < 0 || s >= nItems) {
      throw new TastemakerError('INVALID_ARGUMENT', `kg-song candidates: seed item ${s} outside [0, ${nItems}).`, { seed: s });
    }
    take(s);
    const e = itemEntity[s]!;
    if (!visited[e]) {
      visited[e] = 1;
      frontier.push(e);
    }
  }
  for (let hop = 0; hop < options.hops && frontier.length > 0 && out.length < options.cardinality; hop++) {
    const next: number[] = [];
    for (const e of frontier) {
      for (let s = adjacency.indptr[e]!; s < adjacency.indptr[e + 1]!; s++) {
        const n = adjacency.neighbors[s]!;
        if (visited[n]) continue;
        visited[n] = 1;
        next.push(n);
        take(itemOf[n]!);
      }
    }
    frontier = next;
  }
  return Int32Array.from(out);
}

/** The `count` best-scored items of `scores` (ties: lower index first), skipping `exclude`. */
export function topItems(scores: ArrayLike<number>, count: number, exclude?: ArrayLike<number>): Int32Array {
  const skip = new Set(Array.from(exclude ?? []));
  const order = Array.from({ length: scores.length }, (_, i) => i).filter((i) => !skip.has(i));
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return Int32Array.from(order.slice(0, count));
}
