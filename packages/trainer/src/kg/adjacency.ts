import { TastemakerError } from '@tastemaker/core';
import type { KnowledgeGraph } from '../data/dataset.js';
import type { Rng } from '../engine/rng.js';

/**
 * Undirected adjacency of a knowledge graph: every triple (h, r, t) links h → t and t → h with
 * relation r, as KGCN's `construct_kg` does (relations are not given an inverse id; the graph
 * convolution only asks "how related", not "in which direction").
 *
 * Compressed rows: the neighbours of entity e are `neighbors[indptr[e] .. indptr[e+1])` with
 * relations in the same slots, in triple order (heads' edges and tails' edges interleaved as they
 * appear), so the result is a pure function of the triples.
 */
export interface KgAdjacency {
  entityCount: number;
  relationCount: number;
  indptr: Int32Array;
  neighbors: Int32Array;
  relations: Int32Array;
}

/**
 * Fixed-size neighbourhoods: row e of `entities` / `relations` ([entityCount, size]) holds the
 * sampled neighbours of entity e and the relation of each edge. KGCN samples them once before
 * training (its `construct_adj`) so every entity has exactly `size` neighbours and a batch is a
 * dense tensor; an entity with no edge gets itself through `selfRelation`.
 */
export interface SampledNeighbors {
  entityCount: number;
  size: number;
  entities: Int32Array;
  relations: Int32Array;
  /** relation id used for self edges: `relationCount` of the graph (one past the real relations) */
  selfRelation: number;
}

function invalidKg(message: string, details: Record<string, unknown> = {}): TastemakerError {
  return new TastemakerError('INVALID_ARGUMENT', `Invalid knowledge graph: ${message}`, details);
}

/** Checks that every array agrees with the counts, so later gathers never read out of range. */
export function validateKnowledgeGraph(kg: KnowledgeGraph): void {
  const n = kg.heads.length;
  if (kg.relations.length !== n || kg.tails.length !== n) {
    throw invalidKg(`heads, relations and tails have ${n}, ${kg.relations.length} and ${kg.tails.length} entries; they must be equal.`);
  }
  if (!Number.isInteger(kg.entityCount) || kg.entityCount < 1) throw invalidKg(`entityCount must be a positive integer, got ${kg.entityCount}.`);
  if (!Number.isInteger(kg.relationCount) || kg.relationCount < 0) throw invalidKg(`relationCount must be a non-negative integer, got ${kg.relationCount}.`);
  for (let t = 0; t < n; t++) {
    const h = kg.heads[t]!;
    const r = kg.relations[t]!;
    const tail = kg.tails[t]!;
    if (h < 0 || h >= kg.entityCount || tail < 0 || tail >= kg.entityCount) {
      throw invalidKg(`triple ${t} (${h}, ${r}, ${tail}) names an entity outside [0, ${kg.entityCount}).`, { triple: t });
    }
    if (r < 0 || r >= kg.relationCount) throw invalidKg(`triple ${t} (${h}, ${r}, ${tail}) has a relation outside [0, ${kg.relationCount}).`, { triple: t });
  }
  for (let i = 0; i < kg.itemEntity.length; i++) {
    const e = kg.itemEntity[i]!;
    if (e < 0 || e >= kg.entityCount) throw invalidKg(`item ${i} maps to entity ${e}, outside [0, ${kg.entityCount}).`, { item: i });
  }
}

export function buildAdjacency(kg: KnowledgeGraph): KgAdjacency {
  validateKnowledgeGraph(kg);
  const nE = kg.entityCount;
  const n = kg.heads.length;
  const degree = new Int32Array(nE + 1);
  for (let t = 0; t < n; t++) {
    degree[kg.heads[t]! + 1]!++;
    degree[kg.tails[t]! + 1]!++;
  }
  const indptr = new Int32Array(nE + 1);
  for (let e = 0; e < nE; e++) indptr[e + 1] = indptr[e]! + degree[e + 1]!;
  const fill = indptr.slice(0, nE);
  const neighbors = new Int32Array(2 * n);
  const relations = new Int32Array(2 * n);
  for (let t = 0; t < n; t++) {
    const h = kg.heads[t]!;
    const r = kg.relations[t]!;
    const tail = kg.tails[t]!;
    let s = fill[h]!++;
    neighbors[s] = tail;
    relations[s] = r;
    s = fill[tail]!++;
    neighbors[s] = h;
    relations[s] = r;
  }
  return { entityCount: nE, relationCount: kg.relationCount, indptr, neighbors, relations };
}

export function degreeOf(adj: KgAdjacency, entity: number): number {
  return adj.indptr[entity + 1]! - adj.indptr[entity]!;
}

/**
 * KGCN's sampling: `size` distinct neighbours drawn uniformly when the entity has at least that
 * many, otherwise `size` draws with replacement from the few it has (np.random.choice with
 * replace = degree < size); an isolated entity gets `size` self edges.
 */
export function sampleNeighbors(adj: KgAdjacency, size: number, rng: Rng): SampledNeighbors {
  if (!Number.isInteger(size) || size < 1) {
    throw new TastemakerError('INVALID_CONFIG', `Invalid neighbour sample size: ${String(size)}. It must be a positive integer.`, { got: size });
  }
  const nE = adj.entityCount;
  const entities = new Int32Array(nE * size);
  const relations = new Int32Array(nE * size);
  const selfRelation = adj.relationCount;
  let pool = new Int32Array(64);
  for (let e = 0; e < nE; e++) {
    const start = adj.indptr[e]!;
    const deg = adj.indptr[e + 1]! - start;
    const out = e * size;
    if (deg === 0) {
      entities.fill(e, out, out + size);
      relations.fill(selfRelation, out, out + size);
    } else if (deg < size) {
      for (let k = 0; k < size; k++) {
        const s = start + rng.int(deg);
        entities[out + k] = adj.neighbors[s]!;
        relations[out + k] = adj.relations[s]!;
      }
    } else {
      // partial Fisher–Yates over slot offsets: the first `size` are a uniform sample without replacement
      if (pool.length < deg) pool = new Int32Array(deg);
      for (let k = 0; k < deg; k++) pool[k] = k;
      for (let k = 0; k < size; k++) {
        const j = k + rng.int(deg - k);
        const tmp = pool[k]!;
        pool[k] = pool[j]!;
        pool[j] = tmp;
        const s = start + pool[k]!;
        entities[out + k] = adj.neighbors[s]!;
        relations[out + k] = adj.relations[s]!;
      }
    }
  }
  return { entityCount: nE, size, entities, relations, selfRelation };
}

/**
 * The no-knowledge ablation: every entity's only neighbour is itself (through the self relation),
 * so a graph convolution sees no other entity and the model reduces to its embedding part.
 */
export function selfNeighbors(entityCount: number, size: number, relationCount: number): SampledNeighbors {
  const entities = new Int32Array(entityCount * size);
  for (let e = 0; e < entityCount; e++) entities.fill(e, e * size, (e + 1) * size);
  return { entityCount, size, entities, relations: new Int32Array(entityCount * size).fill(relationCount), selfRelation: relationCount };
}
